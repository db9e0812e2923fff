// Package plugintest loads the docker plugin's .so into a test or benchmark
// process and drives it through its C ABI (package host), as Falco does.
package plugintest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// BuildTags are the build tags of the plugin, as the Makefile's GOTAGS:
// json-iterator's sloppy skipping, which skips objects without allocating.
const BuildTags = "jsoniter_sloppy"

// Load loads the plugin: the .so named by DOCKER_PLUGIN_SO (make test sets
// it to the one it built), else one built from repoRoot into a temporary
// directory. Only one Go .so can live in a process: call it once, from
// TestMain. cleanup removes what it built (the library stays loaded).
func Load(repoRoot string) (p *host.Plugin, cleanup func(), err error) {
	cleanup = func() {}
	path := os.Getenv("DOCKER_PLUGIN_SO")
	if path == "" {
		dir, err := os.MkdirTemp("", "docker-plugin")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		path = filepath.Join(dir, "libdocker.so")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-tags", BuildTags, "-o", path, ".")
		build.Dir = repoRoot
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, cleanup, fmt.Errorf("build the plugin: %w", err)
		}
	}
	p, err = host.Load(path)
	if err != nil {
		return nil, cleanup, fmt.Errorf("load the plugin: %w", err)
	}
	return p, cleanup, nil
}

// Main is a TestMain body: it loads the plugin into *plugin (see Load),
// runs the tests and returns their exit code.
func Main(m *testing.M, repoRoot string, plugin **host.Plugin) int {
	p, cleanup, err := Load(repoRoot)
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*plugin = p
	return m.Run()
}

// FreeLoopbackAddr returns a loopback address whose port is free right
// now, e.g. for a plugin's pprofAddr.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Drain reads a live instance until each returns true for an event or the
// deadline passes (a failure). Each event is valid only during its call.
func Drain(t testing.TB, inst *host.Instance, deadline time.Duration, each func(*host.Event) bool) {
	t.Helper()
	seen := 0
	for end := time.Now().Add(deadline); time.Now().Before(end); {
		batch, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatalf("next_batch: %v", err)
		}
		if rc == host.SSPluginEOF {
			t.Fatalf("live stream ended (EOF)")
		}
		for i := range batch {
			seen++
			if each(&batch[i]) {
				return
			}
		}
	}
	t.Fatalf("the last expected event did not arrive within %v (%d events seen)", deadline, seen)
}

// ReadAll drains a replay instance to EOF and returns its events, cloned
// (freed when the test ends), checking the batch contract on the way: no
// next_batch error, never more than batchSize events in a batch.
func ReadAll(t testing.TB, inst *host.Instance, batchSize int) []*host.Event {
	t.Helper()
	var out []*host.Event
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
			out = append(out, c)
		}
		if rc == host.SSPluginEOF {
			return out
		}
	}
}

// Fields returns the plugin's field table, as Falco reads it, by name.
func Fields(t testing.TB, p *host.Plugin) map[string]host.FieldInfo {
	t.Helper()
	list, err := host.ParseFields(p.Fields())
	if err != nil {
		t.Fatalf("plugin_get_fields: %v", err)
	}
	byName := make(map[string]host.FieldInfo, len(list))
	for _, f := range list {
		byName[f.Name] = f
	}
	return byName
}

// Init calls plugin_init; the state is destroyed when the test ends.
func Init(t testing.TB, p *host.Plugin, config string) *host.State {
	t.Helper()
	s, err := p.Init(config)
	if err != nil {
		t.Fatalf("plugin_init(%s): %v", config, err)
	}
	t.Cleanup(s.Destroy)
	return s
}

// Open calls plugin_open; the instance is closed when the test ends.
func Open(t testing.TB, s *host.State, params string) *host.Instance {
	t.Helper()
	inst, err := s.Open(params)
	if err != nil {
		t.Fatalf("plugin_open(%q): %v", params, err)
	}
	t.Cleanup(inst.Close)
	return inst
}
