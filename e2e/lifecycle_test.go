package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// pluginGoroutines reads, from the plugin runtime's pprof endpoint (the .so
// has its own Go runtime, separate from the test's), the goroutines that run
// the plugin's code or its HTTP connections, and their stacks. Goroutines
// of C threads that called into Go, and the pprof server's, are not counted.
func pluginGoroutines(t testing.TB, pprofAddr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatalf("pprof: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(body), "goroutine profile: total ") {
		t.Fatalf("pprof goroutine profile: %s", body)
	}
	n := 0
	var stacks []string
	for _, g := range strings.Split(string(body), "\n\n") {
		if strings.Contains(g, "falco-docker/plugin") || strings.Contains(g, "net/http.(*persistConn)") {
			count, _ := strconv.Atoi(strings.Fields(g)[0])
			n += count
			stacks = append(stacks, g)
		}
	}
	return n, strings.Join(stacks, "\n\n")
}

// settledGoroutines is pluginGoroutines once the count is down to want, or
// after 10 s: net/http's connection goroutines (persistConn readLoop and
// writeLoop) exit on their own shortly after their connection is closed,
// so one sample right after a close can still see them.
func settledGoroutines(t testing.TB, pprofAddr string, want int) (int, string) {
	t.Helper()
	n, stacks := pluginGoroutines(t, pprofAddr)
	for end := time.Now().Add(10 * time.Second); n > want && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		n, stacks = pluginGoroutines(t, pprofAddr)
	}
	return n, stacks
}

// A live instance with nothing to deliver returns timeouts (never an error
// or EOF), and plugin_close while next_batch is blocked returns promptly,
// leaving no goroutine behind.
func TestLiveTimeoutAndCloseWhileBlocked(t *testing.T) {
	testdocker.Require(t)
	addr := plugintest.FreeLoopbackAddr(t)
	s := initPlugin(t, fmt.Sprintf(`{"flushInterval":20,"pprofAddr":%q,"filters":{"label":["no-such-label-%d"]}}`, addr, time.Now().UnixNano()))
	before, _ := pluginGoroutines(t, addr)

	inst, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		batch, rc, err := inst.NextBatch()
		if err != nil || rc != host.SSPluginTimeout || len(batch) != 0 {
			t.Fatalf("idle next_batch = %d events, rc %d, %v; want a timeout", len(batch), rc, err)
		}
	}
	inst.Close()

	// Now with a flush interval far longer than the test: only Close can end
	// the call.
	s2 := initPlugin(t, fmt.Sprintf(`{"flushInterval":60000,"filters":{"label":["no-such-label-%d"]}}`, time.Now().UnixNano()))
	inst2, err := s2.Open("")
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan int32)
	go func() {
		_, rc, _ := inst2.NextBatch()
		returned <- rc
	}()
	// Give the call time to block inside the plugin; whether it has or not,
	// Close must make it return.
	time.Sleep(100 * time.Millisecond)
	inst2.Close()
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("next_batch still blocked 30 s after plugin_close")
	}
	s2.Destroy()
	if after, stacks := settledGoroutines(t, addr, before); after > before {
		t.Errorf("plugin goroutines: %d before open, %d after close:\n%s", before, after, stacks)
	}
}

func TestEventToString(t *testing.T) {
	lines := fixtureLines(t)
	s := initPlugin(t, "")
	got := readAll(t, openPlugin(t, s, fixturePath), 256)
	seen := 0
	for i, d := range got {
		str := s.EventToString(d.evt)
		want, _ := expected(lines[i])
		prefix := fmt.Sprintf("%v %v", want["docker.type"], want["docker.action"])
		if !strings.HasPrefix(str, prefix) || strings.Contains(str, "\n") {
			t.Errorf("event_to_string = %q, want one line starting %q", str, prefix)
		}
		if want["docker.type"] == "container" && want["docker.action"] == "die" {
			wantStr := fmt.Sprintf("container die %s (name=%s, image=%s, exitCode=%s)", want["docker.actor.id"], want["docker.attributes.name"], want["docker.attributes.image"], want["docker.attributes.exitcode"])
			if str != wantStr {
				t.Errorf("event_to_string = %q, want %q", str, wantStr)
			}
			seen++
		}
	}
	if seen == 0 {
		t.Error("the fixture has no container die event")
	}
}
