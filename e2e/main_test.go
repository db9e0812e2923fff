// Package e2e tests the plugin as Falco runs it: the built libdocker.so is
// loaded into the test process and driven through its C ABI (plugin_init,
// plugin_open, plugin_next_batch, plugin_extract_fields...), against replay
// files and the real Docker daemon.
package e2e

import (
	"os"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

// plugin is the one libdocker.so of this process: a Go runtime cannot be
// loaded twice into a process, so every test shares it.
var plugin *host.Plugin

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, "..", &plugin))
}

// fields is the plugin's field table, as Falco reads it.
func fields(t testing.TB) map[string]host.FieldInfo { return plugintest.Fields(t, plugin) }

func initPlugin(t testing.TB, config string) *host.State { return plugintest.Init(t, plugin, config) }

func openPlugin(t testing.TB, s *host.State, params string) *host.Instance {
	return plugintest.Open(t, s, params)
}

// delivered is one event a test received, copied out of the batch.
type delivered struct {
	evt  *host.Event // owned clone, still valid for extraction
	data string
}

// readAll drains a replay instance to EOF (see plugintest.ReadAll).
func readAll(t testing.TB, inst *host.Instance, batchSize int) []delivered {
	t.Helper()
	var out []delivered
	for _, evt := range plugintest.ReadAll(t, inst, batchSize) {
		out = append(out, delivered{evt: evt, data: string(evt.Data())})
	}
	return out
}
