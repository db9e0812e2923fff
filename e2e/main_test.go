// Package e2e tests the plugin as Falco runs it: the built libdocker.so is
// loaded into the test process and driven through its C ABI (plugin_init,
// plugin_open, plugin_next_batch, plugin_extract_fields...), against replay
// files and the real Docker daemon.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// plugin is the one libdocker.so of this process: a Go runtime cannot be
// loaded twice into a process, so every test shares it.
var plugin *host.Plugin

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	path := os.Getenv("DOCKER_PLUGIN_SO") // set by `make test` to the .so it built
	if path == "" {
		dir, err := os.MkdirTemp("", "e2e-plugin")
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

// fields is the plugin's field table, as Falco reads it.
func fields(t testing.TB) map[string]host.FieldInfo {
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
