package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// rssKiB reads the process's resident set size.
func rssKiB(t testing.TB) int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestLifecycleCyclesLeakNothing runs 10,000 init/open/next_batch/close/
// destroy cycles on a replay (and 100 on the live daemon) and checks that
// the plugin runtime's goroutines, the process's file descriptors and its
// resident memory stay flat, against bounds measured after a warm-up.
func TestLifecycleCyclesLeakNothing(t *testing.T) {
	// In the e2e layer although most cycles are replays: they take minutes
	// of CPU under -race, more than the whole unit layer.
	testdocker.Require(t)
	addr := plugintest.FreeLoopbackAddr(t)
	observer := initPlugin(t, fmt.Sprintf(`{"pprofAddr":%q}`, addr)) // lives through the cycles
	_ = observer
	replay := "file://" + mustAbs(t, fixturePath)
	cycle := func(params string) {
		s, err := plugin.Init(`{"batchSize":64}`)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := s.Open(params)
		if err != nil {
			t.Fatal(err)
		}
		batch, _, err := inst.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 0 {
			if _, err := s.ExtractOne(&batch[0], host.Field{ID: 3, Type: host.FTypeString}); err != nil {
				t.Fatal(err)
			}
		}
		inst.Close()
		s.Destroy()
	}
	for i := 0; i < 1000; i++ { // warm-up: pools and caches reach their size
		cycle(replay)
	}
	g0, _ := pluginGoroutines(t, addr)
	fd0, rss0 := openFDs(t), rssKiB(t)
	for i := 0; i < 10000; i++ {
		cycle(replay)
	}
	live := 0
	if testdocker.Available() {
		for i := 0; i < 100; i++ {
			cycle("")
		}
		live = 100
	}
	g1, stacks := settledGoroutines(t, addr, g0)
	fd1, rss1 := openFDs(t), rssKiB(t)
	t.Logf("after 10000 replay + %d live cycles: plugin goroutines %d -> %d, fds %d -> %d, RSS %d -> %d KiB", live, g0, g1, fd0, fd1, rss0, rss1)
	if g1 > g0 {
		t.Errorf("plugin goroutines grew from %d to %d:\n%s", g0, g1, stacks)
	}
	if fd1 > fd0+2 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if rss1 > rss0+32<<10 { // 32 MiB: far below one leaked slab per cycle (16 MiB virtual, 64 x 64 KiB here)
		t.Errorf("RSS grew from %d to %d KiB", rss0, rss1)
	}
}

// TestHostMisuse: what a buggy or hostile host may do never crashes the
// plugin: destroy with an instance open, two instances at once, extraction
// with an unknown event number, unknown field IDs, a missing or empty
// argument.
func TestHostMisuse(t *testing.T) {
	lines := fixtureLines(t)
	replay := "file://" + mustAbs(t, fixturePath)

	t.Run("destroy with an instance open", func(t *testing.T) {
		s, err := plugin.Init("")
		if err != nil {
			t.Fatal(err)
		}
		inst, err := s.Open(replay)
		if err != nil {
			t.Fatal(err)
		}
		inst.NextBatch()
		s.DestroyWithoutClose()
		inst.Close() // the host may still close it afterwards
	})

	t.Run("two instances at once", func(t *testing.T) {
		s := initPlugin(t, `{"batchSize":5}`)
		a, b := openPlugin(t, s, replay), openPlugin(t, s, replay)
		var gotA, gotB []string
		for doneA, doneB := false, false; !doneA || !doneB; {
			if !doneA {
				batch, rc, err := a.NextBatch()
				if err != nil {
					t.Fatal(err)
				}
				for i := range batch {
					gotA = append(gotA, string(batch[i].Data()))
				}
				doneA = rc == host.SSPluginEOF
			}
			if !doneB {
				batch, rc, err := b.NextBatch()
				if err != nil {
					t.Fatal(err)
				}
				for i := range batch {
					gotB = append(gotB, string(batch[i].Data()))
				}
				doneB = rc == host.SSPluginEOF
			}
		}
		if strings.Join(gotA, "\n") != strings.Join(lines, "\n") || strings.Join(gotB, "\n") != strings.Join(lines, "\n") {
			t.Errorf("interleaved instances delivered %d and %d events, want the %d of the fixture each", len(gotA), len(gotB), len(lines))
		}
	})

	t.Run("extraction requests out of contract", func(t *testing.T) {
		s := initPlugin(t, "")
		got := readAll(t, openPlugin(t, s, replay), 256)
		evt := got[0].evt
		table := fields(t)
		// An event number the plugin never produced: the data still decides.
		evt.Num = 1 << 60
		if v, err := s.ExtractOne(evt, table["docker.type"].Field); err != nil || !v.Present {
			t.Errorf("unknown event number: %+v %v", v, err)
		}
		for _, f := range []host.Field{
			{ID: 100000, Type: host.FTypeString},
			{ID: 1<<32 - 1, Type: host.FTypeString},
		} {
			if _, err := s.ExtractOne(evt, f); err == nil || !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("field ID %d: %v, want an unknown field error", f.ID, err)
			}
		}
		attrs := table["docker.attributes"].Field
		if _, err := s.ExtractOne(evt, attrs); err == nil || !strings.Contains(err.Error(), "key argument") {
			t.Errorf("docker.attributes without argument: %v", err)
		}
		attrs.ArgPresent = true
		if _, err := s.ExtractOne(evt, attrs); err == nil {
			t.Errorf("docker.attributes with an empty argument: no error")
		}
		// The plugin keeps serving after those errors.
		if v, err := s.ExtractOne(got[1].evt, table["docker.action"].Field); err != nil || !v.Present {
			t.Errorf("after errors: %+v %v", v, err)
		}
	})

	t.Run("replay file that vanishes or is a directory", func(t *testing.T) {
		s := initPlugin(t, "")
		dir := t.TempDir()
		if _, err := s.Open(dir); err == nil {
			t.Error("opening a directory as a replay succeeded")
		}
		path := filepath.Join(dir, "gone.jsonl")
		os.WriteFile(path, []byte(lines[0]+"\n"), 0o644)
		inst := openPlugin(t, s, path)
		os.Remove(path) // the open file stays readable
		if got := readAll(t, inst, 256); len(got) != 1 {
			t.Errorf("delivered %d events, want 1", len(got))
		}
	})
}
