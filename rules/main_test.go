package rules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// plugin is the one libdocker.so of this test process: a Go runtime cannot
// be loaded twice into a process, so every test shares it.
var plugin *host.Plugin

// Paths, relative to this package's directory (where go test runs).
const (
	rulesPath   = "docker_rules.yaml"
	fixturePath = "testdata/rules_events.jsonl"
	// fixtureRef is how the rules file names the fixture in its comments:
	// relative to the repository root.
	fixtureRef = "rules/" + fixturePath
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	path := os.Getenv("DOCKER_PLUGIN_SO") // set by `make test` to the .so it built
	if path == "" {
		dir, err := os.MkdirTemp("", "rules-plugin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "libdocker.so")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, "..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build plugin:", err)
			return 1
		}
	}
	var err error
	if plugin, err = host.Load(path); err != nil {
		fmt.Fprintln(os.Stderr, "load plugin:", err)
		return 1
	}
	return m.Run()
}

// fieldTable is the plugin's field table, as Falco reads it
// (plugin_get_fields), by name.
func fieldTable(t testing.TB) map[string]host.FieldInfo {
	t.Helper()
	list, err := host.ParseFields(plugin.Fields())
	if err != nil {
		t.Fatalf("plugin_get_fields: %v", err)
	}
	byName := make(map[string]host.FieldInfo, len(list))
	for _, f := range list {
		byName[f.Name] = f
	}
	return byName
}

func initPlugin(t testing.TB, config string) *host.State {
	t.Helper()
	s, err := plugin.Init(config)
	if err != nil {
		t.Fatalf("plugin_init(%s): %v", config, err)
	}
	t.Cleanup(s.Destroy)
	return s
}

func openPlugin(t testing.TB, s *host.State, params string) *host.Instance {
	t.Helper()
	inst, err := s.Open(params)
	if err != nil {
		t.Fatalf("plugin_open(%q): %v", params, err)
	}
	t.Cleanup(inst.Close)
	return inst
}
