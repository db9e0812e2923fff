package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/falco-docker/plugin/internal/host"
)

// rulesRequirements is what a rules artifact's OCI config declares, read from
// the rules file as falcosecurity/plugins does (build/registry/pkg/oci/
// requirements.go and configLayer.go): the engine version it needs and the
// plugins it depends on.
type rulesRequirements struct {
	engineVersion string   // SemVer; a bare number N means 0.N.0
	dependsOn     []string // name:version, alternatives after '|'
}

func readRulesRequirements(file string) (rulesRequirements, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return rulesRequirements{}, fmt.Errorf("read the rules: %w", err)
	}
	var items []struct {
		EngineVersion  string `yaml:"required_engine_version"`
		PluginVersions []struct {
			Name         string `yaml:"name"`
			Version      string `yaml:"version"`
			Alternatives []struct {
				Name    string `yaml:"name"`
				Version string `yaml:"version"`
			} `yaml:"alternatives"`
		} `yaml:"required_plugin_versions"`
	}
	if err := yaml.Unmarshal(data, &items); err != nil {
		return rulesRequirements{}, fmt.Errorf("parse %s: %w", file, err)
	}
	var r rulesRequirements
	for _, it := range items {
		if v := it.EngineVersion; v != "" {
			if !strings.Contains(v, ".") {
				v = "0." + v + ".0"
			}
			r.engineVersion = v
		}
		for _, pv := range it.PluginVersions {
			dep := pv.Name + ":" + pv.Version
			for _, alt := range pv.Alternatives {
				dep += "|" + alt.Name + ":" + alt.Version
			}
			r.dependsOn = append(r.dependsOn, dep)
		}
	}
	return r, nil
}

// printPushCommands prints the falcoctl registry push commands that publish
// the archives where the index entries point, with the config falcoctl
// install checks: the plugin's platform and required plugin API version, the
// rules' engine version and plugin dependencies. --name sets the artifact
// name, which falcoctl would otherwise take from the repository (docker,
// not docker-rules, for <prefix>/ruleset/docker).
func printPushCommands(w io.Writer, info host.Info, entries []indexEntry, reqs rulesRequirements, pluginTgz, rulesTgz string) {
	fmt.Fprintln(w, "\npublish them where index.yaml points with:")
	for _, e := range entries {
		args := []string{"falcoctl registry push --config /dev/null --type", e.Type, "--name", e.Name,
			"--version", info.Version, "--tag latest"}
		file := rulesTgz
		switch e.Type {
		case typePlugin:
			file = pluginTgz
			args = append(args, "--platform", runtime.GOOS+"/"+runtime.GOARCH)
			if info.RequiredAPIVersion != "" {
				args = append(args, "--requires", "plugin_api_version:"+info.RequiredAPIVersion)
			}
		case typeRulesfile:
			if reqs.engineVersion != "" {
				args = append(args, "--requires", "engine_version:"+reqs.engineVersion)
			}
			for _, d := range reqs.dependsOn {
				args = append(args, "--depends-on", "'"+d+"'")
			}
		}
		args = append(args, e.Registry+"/"+e.Repository+":"+info.Version, file)
		fmt.Fprintln(w, "  "+strings.Join(args, " "))
	}
}
