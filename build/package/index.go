package main

import (
	"fmt"
	"os"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"
)

// registryPlugin is the part of a registry.yaml entry the index is made of,
// in the format of falcosecurity/plugins (build/registry/pkg/registry/types.go).
type registryPlugin struct {
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	Authors     string       `yaml:"authors"`
	Maintainers []maintainer `yaml:"maintainers"`
	Keywords    []string     `yaml:"keywords"`
	URL         string       `yaml:"url"`
	RulesURL    string       `yaml:"rules_url"`
	License     string       `yaml:"license"`
}

type maintainer struct {
	Email string `yaml:"email"`
	Name  string `yaml:"name"`
}

// indexEntry is one entry of a falcoctl index.yaml: the fields and their
// order are those of Entry in falcosecurity/falcoctl pkg/index/index/index.go
// (name, type, registry and repository are mandatory; signature is left out,
// as these artifacts are not signed).
type indexEntry struct {
	Name        string       `yaml:"name"`
	Type        string       `yaml:"type"`
	Registry    string       `yaml:"registry"`
	Repository  string       `yaml:"repository"`
	Description string       `yaml:"description"`
	Home        string       `yaml:"home"`
	Keywords    []string     `yaml:"keywords"`
	License     string       `yaml:"license"`
	Maintainers []maintainer `yaml:"maintainers"`
	Sources     []string     `yaml:"sources"`
}

// Artifact types, as falcoctl's oci.Plugin and oci.Rulesfile.
const (
	typePlugin    = "plugin"
	typeRulesfile = "rulesfile"
)

// rulesSuffix names the rules artifact of a plugin, as RulesArtifactSuffix
// in falcosecurity/plugins build/registry/pkg/common/consts.go.
const rulesSuffix = "-rules"

// loadRegistryPlugin returns the entry called name in the registry file.
func loadRegistryPlugin(file, name string) (registryPlugin, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return registryPlugin{}, fmt.Errorf("read the registry: %w", err)
	}
	var reg struct {
		Plugins []registryPlugin `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(data, &reg); err != nil {
		return registryPlugin{}, fmt.Errorf("parse %s: %w", file, err)
	}
	for _, p := range reg.Plugins {
		if p.Name == name {
			return p, nil
		}
	}
	return registryPlugin{}, fmt.Errorf("%s has no entry for plugin %q", file, name)
}

// indexEntries returns the index entries of the plugin and of its rules,
// sorted by name as falcoctl's Index.Write normalizes them. They follow
// pluginToIndexEntry and pluginRulesToIndexEntry of falcosecurity/plugins
// build/registry/pkg/distribution/index.go: the registry's metadata, the
// entry's own name added to the keywords, the plugin's URL as home, and the
// rules URL as the rules' source. The OCI repositories are laid out as
// falcosecurity's (build/registry/pkg/oci/const.go: <prefix>/plugin/<name>
// and <prefix>/ruleset/<name>).
func indexEntries(p registryPlugin, ociRegistry, ociRepository string) []indexEntry {
	maintainers := p.Maintainers
	if len(maintainers) == 0 && p.Authors != "" {
		maintainers = []maintainer{{Name: p.Authors}}
	}
	rulesSources := []string{p.RulesURL}
	if p.RulesURL == "" {
		rulesSources = []string{p.URL}
	}
	entry := func(name, typ, repo string, sources []string) indexEntry {
		keywords := slices.Clone(p.Keywords)
		if !slices.Contains(keywords, name) {
			keywords = append(keywords, name)
		}
		return indexEntry{
			Name:        name,
			Type:        typ,
			Registry:    ociRegistry,
			Repository:  repo,
			Description: p.Description,
			Home:        p.URL,
			Keywords:    keywords,
			License:     p.License,
			Maintainers: maintainers,
			Sources:     sources,
		}
	}
	return []indexEntry{
		entry(p.Name, typePlugin, path.Join(ociRepository, "plugin", p.Name), []string{p.URL}),
		entry(p.Name+rulesSuffix, typeRulesfile, path.Join(ociRepository, "ruleset", p.Name), rulesSources),
	}
}

// writeIndex writes entries as a falcoctl index.yaml: a YAML sequence of
// entries (falcoctl's Index.Write marshals its []*Entry).
func writeIndex(file string, entries []indexEntry) error {
	data, err := yaml.Marshal(entries)
	if err != nil {
		return fmt.Errorf("encode the index: %w", err)
	}
	return writeFileAtomic(file, data)
}
