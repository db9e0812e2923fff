package main

// TestPackageInstallsAndLoadsLikeFalcoctl runs make package, then does with
// its output what falcoctl does (index add, artifact install) short of the
// OCI registry in between, and what Falco does next: load the installed
// library through its C ABI, replay events, extract a field, and load the
// installed rules against the plugin's fields.
//
// Only one Go shared library can live in a process: this test loads the
// installed copy only, and make package (which loads the library to read its
// version) runs in a child process.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

const repoRoot = "../.."

func TestPackageInstallsAndLoadsLikeFalcoctl(t *testing.T) {
	so := pluginLibrary(t)
	dist := filepath.Join(t.TempDir(), "dist")
	cmd := exec.Command("make", "--no-print-directory", "-C", repoRoot, "package", "OUTPUT="+so, "DIST_DIR="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}

	// What make package wrote: two archives and the index, nothing else.
	files := dirNames(t, dist)
	var pluginTgz, rulesTgz string
	for _, f := range files {
		switch {
		case strings.HasPrefix(f, "docker-rules-") && strings.HasSuffix(f, ".tar.gz"):
			rulesTgz = f
		case strings.HasPrefix(f, "docker-") && strings.HasSuffix(f, ".tar.gz"):
			pluginTgz = f
		}
	}
	if len(files) != 3 || pluginTgz == "" || rulesTgz == "" || !slices.Contains(files, "index.yaml") {
		t.Fatalf("dist holds %v, want docker-<version>-linux-<arch>.tar.gz, docker-rules-<version>.tar.gz and index.yaml", files)
	}

	meta := readRegistry(t)
	entries := readIndex(t, filepath.Join(dist, "index.yaml"))
	checkIndex(t, entries, map[string]string{"docker": pluginTgz, "docker-rules": rulesTgz}, meta)

	// falcoctl artifact install: plugins into the plugins dir, rules into
	// the rules dir (cmd/artifact/install/install.go).
	root := t.TempDir()
	pluginsDir, rulesDir := filepath.Join(root, "plugins"), filepath.Join(root, "rules")
	installed := map[string][]string{
		pluginsDir: extractLikeFalcoctl(t, filepath.Join(dist, pluginTgz), pluginsDir),
		rulesDir:   extractLikeFalcoctl(t, filepath.Join(dist, rulesTgz), rulesDir),
	}
	if got := installed[pluginsDir]; !slices.Equal(got, []string{"libdocker.so"}) {
		t.Fatalf("the plugin archive installs %v, want [libdocker.so]", got)
	}
	if got := installed[rulesDir]; !slices.Equal(got, []string{"docker_rules.yaml"}) {
		t.Fatalf("the rules archive installs %v, want [docker_rules.yaml]", got)
	}

	p, err := host.Load(filepath.Join(pluginsDir, "libdocker.so"))
	if err != nil {
		t.Fatalf("load the installed plugin: %v", err)
	}
	info := p.Info()
	checkRegistry(t, meta, info)
	arch := unameM(t)
	if want := fmt.Sprintf("%s-%s-linux-%s.tar.gz", info.Name, info.Version, arch); pluginTgz != want {
		t.Errorf("plugin archive %s, want %s (name and plugin_get_version of the library, uname -m)", pluginTgz, want)
	}
	if want := fmt.Sprintf("%s-rules-%s.tar.gz", info.Name, info.Version); rulesTgz != want {
		t.Errorf("rules archive %s, want %s", rulesTgz, want)
	}

	fields, err := host.ParseFields(p.Fields())
	if err != nil {
		t.Fatal(err)
	}
	replayInstalled(t, p, fields)
	checkInstalledRules(t, filepath.Join(rulesDir, "docker_rules.yaml"), info, fields)
}

// pluginLibrary is the .so make test built (DOCKER_PLUGIN_SO), else one
// built into a temporary directory, as internal/plugintest does.
func pluginLibrary(t *testing.T) string {
	t.Helper()
	if so := os.Getenv("DOCKER_PLUGIN_SO"); so != "" {
		abs, err := filepath.Abs(so)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	so := filepath.Join(t.TempDir(), "libdocker.so")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-tags", plugintest.BuildTags, "-o", so, ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the plugin: %v\n%s", err, out)
	}
	return so
}

// falcoIndexEntry is Entry of falcosecurity/falcoctl pkg/index/index/index.go,
// field for field: decoding with KnownFields rejects anything else.
type falcoIndexEntry struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"`
	Registry   string `yaml:"registry"`
	Repository string `yaml:"repository"`
	Signature  *struct {
		Cosign map[string]string `yaml:"cosign,omitempty"`
	} `yaml:"signature,omitempty"`
	Description string   `yaml:"description"`
	Home        string   `yaml:"home"`
	Keywords    []string `yaml:"keywords"`
	License     string   `yaml:"license"`
	Maintainers []struct {
		Email string `yaml:"email"`
		Name  string `yaml:"name"`
	} `yaml:"maintainers"`
	Sources []string `yaml:"sources"`
}

// readIndex reads index.yaml as falcoctl's Index.ReadBytes does: a YAML
// sequence of entries, each name once.
func readIndex(t *testing.T, file string) []falcoIndexEntry {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var entries []falcoIndexEntry
	if err := dec.Decode(&entries); err != nil {
		t.Fatalf("index.yaml is not a falcoctl index: %v", err)
	}
	return entries
}

// registryEntry is the plugin's entry in registry.yaml: the metadata the
// index carries and the capabilities it declares.
type registryEntry struct {
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	URL          string   `yaml:"url"`
	RulesURL     string   `yaml:"rules_url"`
	License      string   `yaml:"license"`
	Keywords     []string `yaml:"keywords"`
	Capabilities struct {
		Sourcing struct {
			Supported bool   `yaml:"supported"`
			ID        uint32 `yaml:"id"`
			Source    string `yaml:"source"`
		} `yaml:"sourcing"`
		Extraction struct {
			Supported bool `yaml:"supported"`
		} `yaml:"extraction"`
	} `yaml:"capabilities"`
}

// readRegistry reads registry.yaml, which must hold one plugin.
func readRegistry(t *testing.T) registryEntry {
	t.Helper()
	var reg struct {
		Plugins []registryEntry `yaml:"plugins"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "registry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &reg); err != nil || len(reg.Plugins) != 1 {
		t.Fatalf("registry.yaml: %v, %d plugins", err, len(reg.Plugins))
	}
	return reg.Plugins[0]
}

// checkRegistry checks registry.yaml's entry against the plugin it
// publishes: name, ID and event source, sourcing and extraction, Apache-2.0
// with its LICENSE, a url, a description, and a name falcosecurity/plugins
// accepts.
func checkRegistry(t *testing.T, p registryEntry, info host.Info) {
	t.Helper()
	c := p.Capabilities
	if p.Name != info.Name || c.Sourcing.ID != info.ID || c.Sourcing.Source != info.EventSource ||
		!c.Sourcing.Supported || !c.Extraction.Supported || p.License != "Apache-2.0" || p.URL == "" || p.Description == "" {
		t.Errorf("registry.yaml entry %+v does not match the plugin %+v (want sourcing and extraction, Apache-2.0, a url and a description)", p, info)
	}
	if !regexp.MustCompile(`^[a-z]+[a-z0-9_]*$`).MatchString(p.Name) {
		t.Errorf("registry name %q does not match ^[a-z]+[a-z0-9_]*$", p.Name)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "LICENSE")); err != nil {
		t.Errorf("LICENSE: %v", err)
	}
}

// checkIndex checks that the index has an entry per artifact, each with what
// falcoctl needs to resolve it (name, type, registry, repository: see
// MergedIndexes.ResolveReference) and the metadata of registry.yaml, laid out
// as falcosecurity/plugins' build/registry/pkg/distribution/index.go does.
// archives maps each entry's name to the archive it publishes.
func checkIndex(t *testing.T, entries []falcoIndexEntry, archives map[string]string, meta registryEntry) {
	t.Helper()

	want := map[string]struct{ typ, repoSuffix, source string }{
		"docker":       {"plugin", "/plugin/docker", meta.URL},
		"docker-rules": {"rulesfile", "/ruleset/docker", meta.RulesURL},
	}
	seen := map[string]bool{}
	for _, e := range entries {
		w, ok := want[e.Name]
		if !ok || seen[e.Name] {
			t.Errorf("index entry %q: unexpected or repeated", e.Name)
			continue
		}
		seen[e.Name] = true
		if e.Type != w.typ || e.Registry == "" || !strings.HasSuffix(e.Repository, w.repoSuffix) || strings.Contains(e.Registry, "/") {
			t.Errorf("index entry %s: type %q registry %q repository %q, want type %s, a registry host and a repository ending in %s",
				e.Name, e.Type, e.Registry, e.Repository, w.typ, w.repoSuffix)
		}
		if e.Description != meta.Description || e.Home != meta.URL || e.License != meta.License {
			t.Errorf("index entry %s: description %q home %q license %q, want registry.yaml's", e.Name, e.Description, e.Home, e.License)
		}
		if !slices.Contains(e.Keywords, e.Name) || !containsAll(e.Keywords, meta.Keywords) {
			t.Errorf("index entry %s: keywords %v, want registry.yaml's %v and its own name", e.Name, e.Keywords, meta.Keywords)
		}
		if !slices.Equal(e.Sources, []string{w.source}) || len(e.Maintainers) == 0 || e.Maintainers[0].Name == "" {
			t.Errorf("index entry %s: sources %v maintainers %v, want [%s] and a maintainer", e.Name, e.Sources, e.Maintainers, w.source)
		}
		if archives[e.Name] == "" {
			t.Errorf("index entry %s names no archive of dist", e.Name)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("index.yaml has no entry %q", name)
		}
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// extractLikeFalcoctl unpacks archive into dir the way falcoctl's
// ExtractTarGz (internal/utils/extract.go) does with no path stripping: no
// "..", directories made, regular files created right under dir (their
// parent must exist), any other kind of entry an error. It returns the names
// of the files it installed.
func extractLikeFalcoctl(t *testing.T, archive, dir string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		if strings.Contains(hdr.Name, "..") {
			t.Fatalf("%s: entry %q: falcoctl refuses relative paths", archive, hdr.Name)
		}
		target := filepath.Join(dir, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o750); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			out, err := os.Create(target)
			if err != nil {
				t.Fatalf("%s: entry %q: %v", archive, hdr.Name, err)
			}
			if _, err := io.CopyN(out, tr, hdr.Size); err != nil {
				t.Fatalf("%s: entry %q: %v", archive, hdr.Name, err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			names = append(names, hdr.Name)
		default:
			t.Fatalf("%s: entry %q of type %c: falcoctl cannot extract it", archive, hdr.Name, hdr.Typeflag)
		}
	}
	return names
}

// replayInstalled opens a replay of e2e/testdata/events.jsonl with the
// installed plugin, reads it to the end and checks that every event is
// delivered with docker.type extracted as the event's Type.
func replayInstalled(t *testing.T, p *host.Plugin, fields []host.FieldInfo) {
	t.Helper()
	fixture, err := filepath.Abs(filepath.Join(repoRoot, "e2e", "testdata", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := fixtureTypes(t, fixture)

	s, err := p.Init(`{}`)
	if err != nil {
		t.Fatalf("plugin_init: %v", err)
	}
	defer s.Destroy()
	inst, err := s.Open("file://" + fixture)
	if err != nil {
		t.Fatalf("plugin_open: %v", err)
	}
	defer inst.Close()
	idx := slices.IndexFunc(fields, func(f host.FieldInfo) bool { return f.Name == "docker.type" })
	if idx < 0 {
		t.Fatal("plugin_get_fields has no docker.type")
	}
	x := s.NewExtractor([]host.Field{fields[idx].Field})
	defer x.Free()

	var gotTypes []string
	for {
		evts, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatalf("plugin_next_batch: %v", err)
		}
		for k := range evts {
			if _, err := x.Extract(&evts[k]); err != nil {
				t.Fatalf("plugin_extract_fields: %v", err)
			}
			typ := "<NA>"
			if x.Len(0) > 0 {
				typ = x.String(0, 0)
			}
			gotTypes = append(gotTypes, typ)
		}
		if rc == host.SSPluginEOF {
			break
		}
	}
	if !slices.Equal(gotTypes, wantTypes) {
		t.Fatalf("replay of %s: docker.type of the %d events delivered = %v, want the %d lines' Type %v",
			fixture, len(gotTypes), gotTypes, len(wantTypes), wantTypes)
	}
}

func fixtureTypes(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var types []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ev struct{ Type string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		types = append(types, ev.Type)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(types) == 0 {
		t.Fatalf("%s holds no event", file)
	}
	return types
}

var (
	// quoted strings and field arguments, cut from conditions before they
	// are scanned: "docker.io/" and [com.docker.compose.project] are values.
	quotedOrArg = regexp.MustCompile(`"[^"]*"|'[^']*'|\[[^\]]*\]`)
	// a docker.* field in a condition: not preceded by a name character.
	conditionField = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.%])(docker\.[A-Za-z0-9_.]*[A-Za-z0-9_])`)
	// a docker.* field in an output: %docker.name or %docker.name[arg].
	outputField = regexp.MustCompile(`%(docker\.[A-Za-z0-9_.]*[A-Za-z0-9_])`)
)

// checkInstalledRules checks that the installed rules file is YAML, that
// every docker.* field its rules and macros use is one of the plugin's
// fields (a name scan; rules/rules_test.go is the full checker), and that
// the plugin version it requires is at most the packaged one.
func checkInstalledRules(t *testing.T, file string, info host.Info, fields []host.FieldInfo) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := yaml.Unmarshal(data, &items); err != nil {
		t.Fatalf("%s is not YAML: %v", file, err)
	}
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
	}
	used := map[string]bool{}
	for _, it := range items {
		if cond, ok := it["condition"].(string); ok {
			for _, m := range conditionField.FindAllStringSubmatch(quotedOrArg.ReplaceAllString(cond, " "), -1) {
				used[m[1]] = true
			}
		}
		if out, ok := it["output"].(string); ok {
			for _, m := range outputField.FindAllStringSubmatch(out, -1) {
				used[m[1]] = true
			}
		}
		if reqs, ok := it["required_plugin_versions"].([]any); ok {
			for _, r := range reqs {
				r, _ := r.(map[string]any)
				if r["name"] == info.Name && !versionAtMost(t, fmt.Sprint(r["version"]), info.Version) {
					t.Errorf("%s requires %s %v, the package holds %s", file, info.Name, r["version"], info.Version)
				}
			}
		}
	}
	if len(used) == 0 {
		t.Fatalf("%s uses no docker.* field: the scan found nothing to check", file)
	}
	for name := range used {
		if !known[name] {
			t.Errorf("%s uses %s, which is not among the plugin's fields", file, name)
		}
	}
	t.Logf("%s: %d items, %d docker.* fields used", file, len(items), len(used))
}

// versionAtMost reports whether SemVer a <= b, comparing major.minor.patch.
func versionAtMost(t *testing.T, a, b string) bool {
	t.Helper()
	parse := func(v string) [3]int {
		var n [3]int
		parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
		if len(parts) != 3 {
			t.Fatalf("version %q is not major.minor.patch", v)
		}
		for i, p := range parts {
			x, err := strconv.Atoi(p)
			if err != nil {
				t.Fatalf("version %q: %v", v, err)
			}
			n[i] = x
		}
		return n
	}
	va, vb := parse(a), parse(b)
	for i := range va {
		if va[i] != vb[i] {
			return va[i] < vb[i]
		}
	}
	return true
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func unameM(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatalf("uname -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}
