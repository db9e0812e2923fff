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

// readAll drains a replay instance to EOF, checking the batch contract on
// the way: never more than batchSize events, no error.
func readAll(t testing.TB, inst *host.Instance, batchSize int) []delivered {
	t.Helper()
	var out []delivered
	for calls := 0; ; calls++ {
		if calls > 1_000_000 {
			t.Fatalf("no EOF after %d next_batch calls", calls)
		}
		batch, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatalf("next_batch: %v", err)
		}
		if len(batch) > batchSize {
			t.Fatalf("batch of %d events, batchSize is %d", len(batch), batchSize)
		}
		for i := range batch {
			c := batch[i].Clone()
			t.Cleanup(c.Free)
			out = append(out, delivered{evt: c, data: string(batch[i].Data())})
		}
		if rc == host.SSPluginEOF {
			return out
		}
	}
}
