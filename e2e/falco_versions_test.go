package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// falcoFrameworks is the plugin API version of each Falco release's libs
// (falcosecurity/libs userspace/plugin/plugin_api.h at each libs release),
// and whether the plugin must load there: it requires 3.4.0
// (apiversion.go), so every release from 0.38 on accepts it. The last entry
// is a framework older than 3.4, which has no owner-first log_fn: libsinsp
// refuses the plugin there.
var falcoFrameworks = []struct {
	name   string
	api    host.APIVersion
	accept bool
}{
	{"falco-0.38", host.APIVersion{Major: 3, Minor: 6}, true},
	{"falco-0.39", host.APIVersion{Major: 3, Minor: 7}, true},
	{"falco-0.40", host.APIVersion{Major: 3, Minor: 10}, true},
	{"falco-0.41", host.APIVersion{Major: 3, Minor: 11}, true},
	{"falco-0.42", host.APIVersion{Major: 3, Minor: 12}, true},
	{"falco-0.43", host.APIVersion{Major: 3, Minor: 12}, true},
	{"falco-0.44", host.APIVersion{Major: 3, Minor: 12}, true},
	{"api-3.3", host.APIVersion{Major: 3, Minor: 3}, false},
}

// fixtureWithBadLine writes the recorded daemon events plus one line that is
// not JSON, which the replay skips with a warning.
func fixtureWithBadLine(t *testing.T) (path string, events int) {
	t.Helper()
	data, err := os.ReadFile("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	events = bytes.Count(data, []byte("\n"))
	path = filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, append(data, "not json\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, events
}

// captureStderr redirects the process's fd 2 (which the plugin's own Go
// runtime writes to) into a file until the returned function restores it
// and returns what was written.
// If the plugin crashes meanwhile (a member read past a framework's struct
// faults on the guard page), the test binary exits with status 2 and no
// output: the trace is in that file, which the crash leaves behind in the
// test's TempDir.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	return func() string {
		if err := syscall.Dup3(saved, 2, 0); err != nil {
			t.Fatal(err)
		}
		syscall.Close(saved)
		out, _ := os.ReadFile(f.Name())
		f.Close()
		return string(out)
	}
}

// Each Falco release from 0.38 on, as its framework would load the plugin:
// the whole lifecycle runs with every struct ending on an unreadable page
// (before 3.11 the extract input ends before value_offsets, so a plugin
// reading it faults), and the plugin's messages reach Falco's log_fn with
// their severity, not stderr. A framework older than the plugin's required
// version refuses it with libsinsp's message.
func TestFalcoReleasesLoadThePluginAsDocumented(t *testing.T) {
	byName := fields(t)
	for _, fw := range falcoFrameworks {
		t.Run(fw.name, func(t *testing.T) {
			opts := host.InitOptions{Framework: fw.api, Log: true}
			if !fw.accept {
				_, err := plugin.InitWith("", opts)
				want := "plugin required API version '" + plugin.Info().RequiredAPIVersion +
					"' not compatible with the framework's API version '" + fw.api.String() + "'"
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("init as API %s: %v, want refusal %q", fw.api, err, want)
				}
				return
			}
			path, events := fixtureWithBadLine(t)
			stderr := captureStderr(t)
			s, err := plugin.InitWith(`{"pprofAddr":"127.0.0.1:0"}`, opts)
			if err != nil {
				stderr()
				t.Fatalf("init as API %s: %v", fw.api, err)
			}
			inst, err := s.Open(path)
			if err != nil {
				stderr()
				s.Destroy()
				t.Fatal(err)
			}
			var got int
			var types []string
			for {
				batch, rc, err := inst.NextBatch()
				if err != nil {
					break
				}
				for i := range batch {
					got++
					v, err := s.ExtractOne(&batch[i], byName["docker.type"].Field)
					if err != nil || !v.Present {
						t.Errorf("docker.type of event %d: %v %+v", got, err, v)
					} else if len(types) < 3 {
						types = append(types, v.Strings[0])
					}
				}
				if rc == host.SSPluginEOF {
					break
				}
			}
			m := metricsOf(s)
			inst.Close()
			s.Destroy()
			leaked := stderr()

			if got != events || m["events_delivered"] != uint64(events) || m["replay_lines_skipped"] != 1 {
				t.Errorf("delivered %d events, metrics %v; want %d and 1 line skipped", got, m, events)
			}
			if len(types) == 0 || types[0] != "image" {
				t.Errorf("first docker.type values %v", types)
			}
			logs, dropped := s.Logs()
			var sawInfo, sawWarning bool
			for _, r := range logs {
				if r.Component != "" && r.Component != "docker" {
					t.Errorf("log record from component %q", r.Component)
				}
				switch {
				case strings.HasPrefix(r.Message, "serving net/http/pprof on"):
					sawInfo = r.Severity == host.LogInfo
				case strings.Contains(r.Message, "line skipped"):
					sawWarning = r.Severity == host.LogWarning
				}
				if strings.Contains(leaked, r.Message) {
					t.Errorf("%q went to stderr as well", r.Message)
				}
			}
			if !sawInfo || !sawWarning || dropped != 0 {
				t.Errorf("log_fn received %+v (%d dropped): want the pprof line as INFO and the skipped line as WARNING", logs, dropped)
			}
		})
	}
}

// Falco calls plugin_get_metrics from its stats writer and its webserver at
// once, while the source thread runs next_batch: each caller must read sane
// names and values, monotonic counters never go back, and the final count
// is every event of the replay.
func TestMetricsFromTwoThreadsDuringNextBatch(t *testing.T) {
	s := initPlugin(t, "")
	inst := openPlugin(t, s, "testdata/events.jsonl")
	lines := bytes.Count(must(os.ReadFile("testdata/events.jsonl")), []byte("\n"))

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			last := map[string]uint64{}
			var count int // the first call's: every later call serves the same metrics
			for calls := 0; ; calls++ {
				ms := s.Metrics()
				if calls == 0 {
					count = len(ms)
				}
				if len(ms) != count || count == 0 {
					errs <- fmt.Sprintf("%d metrics, %d on the first call", len(ms), count)
					return
				}
				for _, m := range ms {
					if m.Name == "" || strings.HasPrefix(m.Name, "docker.") {
						errs <- "bad metric name " + m.Name
						return
					}
					if m.Monotonic && m.Value < last[m.Name] {
						errs <- m.Name + " went back"
						return
					}
					last[m.Name] = m.Value
				}
				if last["events_delivered"] > uint64(lines) {
					errs <- "more events delivered than the fixture has"
					return
				}
				select {
				case <-done:
					if calls > 0 {
						return
					}
				default:
				}
			}
		}()
	}
	var got int
	for {
		batch, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		got += len(batch)
		if rc == host.SSPluginEOF {
			break
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if m := metricsOf(s); got != lines || m["events_delivered"] != uint64(lines) {
		t.Errorf("read %d events, events_delivered %d, want %d", got, m["events_delivered"], lines)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
