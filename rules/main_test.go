package rules

import (
	"os"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
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
	os.Exit(plugintest.Main(m, "..", &plugin))
}

// fieldTable is the plugin's field table, as Falco reads it
// (plugin_get_fields), by name.
func fieldTable(t testing.TB) map[string]host.FieldInfo { return plugintest.Fields(t, plugin) }

func initPlugin(t testing.TB, config string) *host.State { return plugintest.Init(t, plugin, config) }

func openPlugin(t testing.TB, s *host.State, params string) *host.Instance {
	return plugintest.Open(t, s, params)
}
