package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// liveEvent is one delivered event with the fields the live test checks,
// extracted through the C ABI when it was delivered.
type liveEvent struct {
	data   string
	ts     uint64
	fields map[string]host.Value
}

func (e liveEvent) str(name string) string {
	if v := e.fields[name]; v.Present && len(v.Strings) > 0 {
		return v.Strings[0]
	}
	return "<NA>"
}

func (e liveEvent) num(name string) (uint64, bool) {
	v := e.fields[name]
	if !v.Present || len(v.Uint64s) == 0 {
		return 0, false
	}
	return v.Uint64s[0], true
}

// collectLive reads the instance until stop reports the last expected event
// or the deadline passes, extracting checked fields from each event as it
// arrives (its memory is only valid until the next batch).
func collectLive(t *testing.T, s *host.State, inst *host.Instance, deadline time.Duration, stop func(liveEvent) bool) []liveEvent {
	t.Helper()
	table := fields(t)
	var out []liveEvent
	plugintest.Drain(t, inst, deadline, func(evt *host.Event) bool {
		// Live events carry their origin after the JSON: NUL host NUL name.
		data, _, _ := strings.Cut(string(evt.Data()), "\x00")
		ev := liveEvent{data: data, ts: evt.Timestamp, fields: map[string]host.Value{}}
		for _, name := range []string{"docker.type", "docker.action", "docker.actor.id", "docker.attributes.name",
			"docker.attributes.container", "docker.attributes.image", "docker.exitcode", "docker.attributes.exitcode",
			"docker.signal", "docker.exec.command", "docker.exec.id", "docker.time", "docker.status", "docker.id", "docker.from",
			"docker.host", "docker.daemon.name"} {
			v, err := s.ExtractOne(evt, table[name].Field)
			if err != nil {
				t.Fatalf("extract %s: %v", name, err)
			}
			ev.fields[name] = v
		}
		f := table["docker.attributes"].Field
		f.ArgKey, f.ArgPresent = "destination", true
		ev.fields["destination"], _ = s.ExtractOne(evt, f)
		out = append(out, ev)
		return stop(ev)
	})
	return out
}

// TestLiveDaemonEvents drives the machine's Docker daemon and checks that
// the plugin delivers, in order, with their fields and timestamps, the
// events of a container that exits non-zero, an exec, a kill, a volume mount
// and a network connect.
func TestLiveDaemonEvents(t *testing.T) {
	testdocker.Require(t)
	d := testdocker.Docker{}
	img := testdocker.Image(t, d)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	vol, net, c1, c2 := "e2e-vol-"+suffix, "e2e-net-"+suffix, "e2e-exit-"+suffix, "e2e-kill-"+suffix
	t.Cleanup(func() {
		d.Try("rm", "-f", c1, c2)
		d.Try("network", "rm", net)
		d.Try("volume", "rm", vol)
	})

	s := initPlugin(t, `{"flushInterval":10,"batchSize":16}`)
	inst := openPlugin(t, s, "")
	start := uint64(time.Now().UnixNano())

	d.Run(t, "volume", "create", vol)
	d.Run(t, "network", "create", net)
	if _, err := d.Try("run", "--name", c1, "-v", vol+":/data", "--network", net, img, "/bin/tool", "exit", "3"); testdocker.ExitCode(err) != 3 {
		t.Fatalf("docker run exit 3: %v", err)
	}
	d.Run(t, "run", "-d", "--name", c2, img)
	d.Run(t, "exec", c2, "sh", "-c", "id")
	d.Run(t, "network", "connect", net, c2)
	d.Run(t, "kill", c2)
	d.Run(t, "rm", c1)
	d.Run(t, "rm", c2)
	d.Run(t, "network", "rm", net)
	d.Run(t, "volume", "rm", vol)

	events := collectLive(t, s, inst, 60*time.Second, func(e liveEvent) bool {
		return e.str("docker.type") == "volume" && e.str("docker.action") == "destroy" && e.str("docker.actor.id") == vol
	})
	end := uint64(time.Now().UnixNano())

	ids := map[string]string{} // container name -> ID, from its create event
	var mine []liveEvent
	for _, e := range events {
		name := e.str("docker.attributes.name")
		if e.str("docker.type") == "container" && e.str("docker.action") == "create" && (name == c1 || name == c2) {
			ids[name] = e.str("docker.actor.id")
		}
		ctr := e.str("docker.attributes.container")
		if name == c1 || name == c2 || name == net || e.str("docker.actor.id") == vol ||
			(ctr != "<NA>" && (ctr == ids[c1] || ctr == ids[c2])) {
			mine = append(mine, e)
		}
	}
	for i, e := range mine {
		// The timestamp Falco gets is the event's timeNano, exact.
		var wire struct {
			TimeNano uint64 `json:"timeNano"`
		}
		if err := json.Unmarshal([]byte(e.data), &wire); err != nil {
			t.Fatalf("event data is not JSON: %s", e.data)
		}
		if e.ts != wire.TimeNano || e.ts < start-uint64(time.Second) || e.ts > end {
			t.Errorf("event %d: timestamp %d, timeNano %d, test ran %d..%d", i, e.ts, wire.TimeNano, start, end)
		}
		if ft, _ := e.num("docker.time"); ft != e.ts {
			t.Errorf("event %d: docker.time %d != timestamp %d", i, ft, e.ts)
		}
	}
	// Delivered in the daemon's own order, none missing, none added: ask the
	// daemon for the same window and compare (timeNano is not monotonic
	// across objects: concurrent operations interleave).
	if got, want := keysOf(t, mine), daemonEvents(t, d, start, end, func(line string) bool {
		return strings.Contains(line, suffix) || (ids[c1] != "" && strings.Contains(line, ids[c1])) || (ids[c2] != "" && strings.Contains(line, ids[c2]))
	}); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered events differ from the daemon's own record:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Each step must appear, in this order, with its fields.
	type step struct {
		desc  string
		match func(liveEvent) bool
	}
	is := func(typ, action, name string) func(liveEvent) bool {
		return func(e liveEvent) bool {
			return e.str("docker.type") == typ && e.str("docker.action") == action && e.str("docker.attributes.name") == name
		}
	}
	on := func(typ, action, ctr string) func(liveEvent) bool {
		return func(e liveEvent) bool {
			return e.str("docker.type") == typ && e.str("docker.action") == action && e.str("docker.attributes.container") == ids[ctr]
		}
	}
	steps := []step{
		{"volume create", func(e liveEvent) bool {
			return e.str("docker.type") == "volume" && e.str("docker.action") == "create" && e.str("docker.actor.id") == vol
		}},
		{"network create", is("network", "create", net)},
		{"container create c1", is("container", "create", c1)},
		{"network connect c1", on("network", "connect", c1)},
		{"volume mount c1 at /data", func(e liveEvent) bool {
			return on("volume", "mount", c1)(e) && e.fields["destination"].Strings[0] == "/data"
		}},
		{"container start c1", is("container", "start", c1)},
		{"container die c1 with exit code 3", func(e liveEvent) bool {
			n, ok := e.num("docker.exitcode")
			return is("container", "die", c1)(e) && ok && n == 3 && e.str("docker.attributes.exitcode") == "3"
		}},
		{"container start c2", is("container", "start", c2)},
		{"exec_create: sh -c id", func(e liveEvent) bool {
			return is("container", "exec_create: sh -c id", c2)(e) && e.str("docker.exec.command") == "sh -c id" && e.str("docker.exec.id") != "<NA>"
		}},
		{"exec_start: sh -c id", func(e liveEvent) bool {
			return is("container", "exec_start: sh -c id", c2)(e) && e.str("docker.exec.command") == "sh -c id"
		}},
		{"exec_die with exit code 0", func(e liveEvent) bool {
			n, ok := e.num("docker.exitcode")
			return is("container", "exec_die", c2)(e) && ok && n == 0 && e.str("docker.exec.command") == "<NA>"
		}},
		{"network connect c2", on("network", "connect", c2)},
		{"container kill c2 with SIGKILL", func(e liveEvent) bool {
			n, ok := e.num("docker.signal")
			return is("container", "kill", c2)(e) && ok && n == 9
		}},
		{"container die c2 with exit code 137", func(e liveEvent) bool {
			n, ok := e.num("docker.exitcode")
			return is("container", "die", c2)(e) && ok && n == 137
		}},
		{"container destroy c1", is("container", "destroy", c1)},
		{"container destroy c2", is("container", "destroy", c2)},
		{"network destroy", is("network", "destroy", net)},
		{"volume destroy", func(e liveEvent) bool {
			return e.str("docker.type") == "volume" && e.str("docker.action") == "destroy" && e.str("docker.actor.id") == vol
		}},
	}
	next := 0
	for _, e := range mine {
		if next < len(steps) && steps[next].match(e) {
			next++
		}
	}
	if next < len(steps) {
		var seen []string
		for _, e := range mine {
			seen = append(seen, e.str("docker.type")+" "+e.str("docker.action")+" "+e.str("docker.attributes.name"))
		}
		t.Fatalf("step %q not delivered in order; events seen:\n%s", steps[next].desc, strings.Join(seen, "\n"))
	}
	// Every live event names its daemon; container events carry the
	// deprecated keys (or their derivation).
	daemonName := d.Run(t, "info", "--format", "{{.Name}}")
	for _, e := range mine {
		if e.str("docker.host") != "unix:///var/run/docker.sock" || e.str("docker.daemon.name") != daemonName {
			t.Errorf("docker.host %q, docker.daemon.name %q, want the local socket and %q", e.str("docker.host"), e.str("docker.daemon.name"), daemonName)
		}
		if e.str("docker.type") == "container" && (e.str("docker.status") != e.str("docker.action") || e.str("docker.id") != e.str("docker.actor.id") || e.str("docker.from") != img) {
			t.Errorf("container event without status/id/from: %s", e.data)
		}
	}
	t.Logf("live: %d events delivered, %d about the test's objects, all %d steps in order", len(events), len(mine), len(steps))
}

// eventKey identifies an event for comparisons: time, type, action, actor.
func eventKey(t testing.TB, data string) string {
	var ev struct {
		Type, Action string
		Actor        struct{ ID string }
		TimeNano     int64 `json:"timeNano"`
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("event is not JSON: %s", data)
	}
	return fmt.Sprintf("%d %s %s %s", ev.TimeNano, ev.Type, ev.Action, ev.Actor.ID)
}

func keysOf(t testing.TB, events []liveEvent) []string {
	var keys []string
	for _, e := range events {
		keys = append(keys, eventKey(t, e.data))
	}
	return keys
}

// daemonEvents asks the daemon for its events between start and end (ns)
// that keep() selects, in the daemon's order.
func daemonEvents(t testing.TB, d testdocker.Docker, start, end uint64, keep func(string) bool) []string {
	t.Helper()
	out := d.Run(t, "events", "--since", unixArg(start-uint64(time.Second)), "--until", unixArg(end), "--format", "{{json .}}")
	var keys []string
	for _, line := range strings.Split(out, "\n") {
		if line != "" && keep(line) {
			keys = append(keys, eventKey(t, line))
		}
	}
	return keys
}

func unixArg(ns uint64) string {
	return fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9)
}

// TestLiveOversizedEvent: a container whose labels make its events about
// 1 MiB, far larger than eventSize and the reader's buffer, has them
// delivered whole.
func TestLiveOversizedEvent(t *testing.T) {
	testdocker.Require(t)
	d := testdocker.Docker{}
	img := testdocker.Image(t, d)
	name := fmt.Sprintf("e2e-big-%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { d.Try("rm", "-f", name) })
	labels := filepath.Join(t.TempDir(), "labels")
	// 16 labels of 60 KiB (the CLI reads label files by lines of < 64 KiB):
	// events of about 1 MiB.
	big := strings.Repeat("0123456789abcdef", 60<<10/16)
	var file strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&file, "com.example.big%02d=%s\n", i, big)
	}
	if err := os.WriteFile(labels, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := initPlugin(t, `{"flushInterval":10,"eventSize":65536}`)
	c := startCollector(t, openPlugin(t, s, ""))
	d.Run(t, "create", "--name", name, "--label-file", labels, img)
	got := c.waitFor(t, 30*time.Second, "the create event of the labelled container", func(evs []collected) bool {
		for _, e := range evs {
			if strings.Contains(e.json, `"name":"`+name+`"`) {
				return true
			}
		}
		return false
	})
	for _, e := range got {
		if !strings.Contains(e.json, `"name":"`+name+`"`) {
			continue
		}
		var ev struct {
			Actor struct{ Attributes map[string]string }
		}
		if err := json.Unmarshal([]byte(e.json), &ev); err != nil {
			t.Fatalf("oversized event is not whole JSON (%d bytes): %v", len(e.json), err)
		}
		for i := 0; i < 16; i++ {
			if v := ev.Actor.Attributes[fmt.Sprintf("com.example.big%02d", i)]; v != big {
				t.Fatalf("label %d arrived with %d bytes, want %d", i, len(v), len(big))
			}
		}
	}
	if m := metricsOf(s); m["events_oversized"] == 0 {
		t.Errorf("docker.events_oversized = 0")
	}
}
