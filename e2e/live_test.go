package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
func collectLive(t *testing.T, s *host.State, inst *host.Instance, deadline time.Duration, stop func(liveEvent) bool, check func(evt *host.Event, data string)) []liveEvent {
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
		if check != nil {
			check(evt, data)
		}
		out = append(out, ev)
		return stop(ev)
	})
	return out
}

// TestLiveDaemonEvents drives the machine's Docker daemon (20.10, API
// v1.41 here) and checks that the plugin delivers, in order, with their
// fields and timestamps, the events of a container that exits non-zero, an
// exec, a kill, a volume mount, a network connect and an image tag.
func TestLiveDaemonEvents(t *testing.T) {
	testdocker.Require(t)
	d := testdocker.Docker{}
	api := d.Run(t, "version", "--format", "{{.Server.APIVersion}}")
	runLiveScenario(t, d, "", "/var/run/docker.sock", api)
}

// liveRun is what runLiveScenario saw: the delivered events about the
// scenario's objects and the daemon's own record of them.
type liveRun struct {
	mine   []liveEvent
	record []string // the daemon's lines for the same events, in its order
	start  uint64   // ns, when the scenario started
	end    uint64   // ns, when its last event was delivered
}

// runLiveScenario runs the scenario on the daemon d reaches at socket,
// with the plugin following it at pluginHost ("" for the default endpoint),
// and checks the delivered events: every field of every event against the
// oracle, the events about the scenario's objects byte for byte against the
// daemon's own record (GET /events at recordAPI over a since/until window),
// and the scenario's steps in order.
func runLiveScenario(t *testing.T, d testdocker.Docker, pluginHost, socket, recordAPI string) liveRun {
	t.Helper()
	img := testdocker.Image(t, d)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	vol, net, c1, c2, tag := "e2e-vol-"+suffix, "e2e-net-"+suffix, "e2e-exit-"+suffix, "e2e-kill-"+suffix, "e2e-tag:"+suffix
	t.Cleanup(func() {
		d.Try("rm", "-f", c1, c2)
		d.Try("network", "rm", net)
		d.Try("volume", "rm", vol)
		d.Try("rmi", tag) // its untag event names the image by ID only
	})
	wantHost := pluginHost
	config := `{"flushInterval":10,"batchSize":16}`
	if pluginHost == "" {
		wantHost = "unix:///var/run/docker.sock"
	} else {
		config = fmt.Sprintf(`{"flushInterval":10,"batchSize":16,"hosts":[%q]}`, pluginHost)
	}
	daemonName := d.Run(t, "info", "--format", "{{.Name}}")

	s := initPlugin(t, config)
	inst := openPlugin(t, s, "")
	start := uint64(time.Now().UnixNano())

	d.Run(t, "tag", img, tag)
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
	}, func(evt *host.Event, data string) {
		// Every field of every event, as the oracle computes it from the
		// delivered line, and the daemon it came from.
		want, err := expected(data)
		if err != nil {
			t.Fatalf("oracle cannot decode %s: %v", data, err)
		}
		want["docker.host"], want["docker.daemon.name"] = wantHost, daemonName
		checkFieldsWant(t, s, evt, data, want)
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
		if name == c1 || name == c2 || name == net || name == tag || e.str("docker.actor.id") == vol ||
			(ctr != "<NA>" && (ctr == ids[c1] || ctr == ids[c2])) {
			mine = append(mine, e)
		}
	}
	for i, e := range mine {
		// The timestamp Falco gets is the event's timeNano.
		var wire struct {
			TimeNano uint64 `json:"timeNano"`
		}
		if err := json.Unmarshal([]byte(e.data), &wire); err != nil {
			t.Fatalf("event data is not JSON: %s", e.data)
		}
		if e.ts != wire.TimeNano || e.ts < start-uint64(time.Second) || e.ts > end {
			t.Errorf("event %d: timestamp %d, timeNano %d, test ran %d..%d", i, e.ts, wire.TimeNano, start, end)
		}
	}
	// Delivered in the daemon's own order, none missing, none added, each
	// the daemon's bytes (and so its exact timeNano): ask the daemon for the
	// same window at the same API version and compare. (timeNano is not
	// monotonic across objects: concurrent operations interleave.)
	record := daemonRecord(t, socket, recordAPI, start-uint64(time.Second), end, func(line string) bool {
		return strings.Contains(line, suffix) || (ids[c1] != "" && strings.Contains(line, ids[c1])) || (ids[c2] != "" && strings.Contains(line, ids[c2]))
	})
	var got []string
	for _, e := range mine {
		got = append(got, e.data)
	}
	if strings.Join(got, "\n") != strings.Join(record, "\n") {
		t.Errorf("delivered events differ from the daemon's own record at API v%s:\n got:\n%s\nwant:\n%s", recordAPI, strings.Join(got, "\n"), strings.Join(record, "\n"))
	}

	// Each step must appear, in this order, with its fields; steps marked
	// unordered may swap with their unordered neighbours (Docker 29 mounts
	// the volume before it connects the network, 20.10 the other way).
	type step struct {
		desc  string
		match func(liveEvent) bool
	}
	unordered := map[string]bool{"network connect c1": true, "volume mount c1 at /data": true}
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
		{"image tag", is("image", "tag", tag)},
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
	next := 0 // steps before next are done
	done := make([]bool, len(steps))
	for _, e := range mine {
		// The candidates: the next step, and the unordered ones right after
		// it when it is unordered too.
		for i := next; i < len(steps) && (i == next || (unordered[steps[next].desc] && unordered[steps[i].desc])); i++ {
			if !done[i] && steps[i].match(e) {
				done[i] = true
				break
			}
		}
		for next < len(steps) && done[next] {
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
	// Container and image events carry the deprecated keys, as sent or
	// derived (API v1.52 on).
	for _, e := range mine {
		switch e.str("docker.type") {
		case "container":
			if e.str("docker.status") != e.str("docker.action") || e.str("docker.id") != e.str("docker.actor.id") || e.str("docker.from") != img {
				t.Errorf("container event without status/id/from: %s", e.data)
			}
		case "image":
			if e.str("docker.status") != e.str("docker.action") || e.str("docker.id") != e.str("docker.actor.id") {
				t.Errorf("image event without status/id: %s", e.data)
			}
		}
	}
	t.Logf("live: %d events delivered, %d about the test's objects, all %d steps in order", len(events), len(mine), len(steps))
	return liveRun{mine: mine, record: record, start: start, end: end}
}

// daemonRecord asks the daemon on socket for its events between start and
// end (ns) at API version api, and returns the lines keep() selects, as the
// daemon sent them, in its order.
func daemonRecord(t testing.TB, socket, api string, start, end uint64, keep func(string) bool) []string {
	t.Helper()
	var record []string
	for _, line := range strings.Split(string(daemonGet(t, socket, fmt.Sprintf("/v%s/events?since=%s&until=%s", api, unixArg(start), unixArg(end)))), "\n") {
		if line != "" && keep(line) {
			record = append(record, line)
		}
	}
	return record
}

// daemonGet GETs path from the daemon API on socket.
func daemonGet(t testing.TB, socket, path string) []byte {
	t.Helper()
	hc := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}},
		Timeout: 30 * time.Second,
	}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://docker" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", path, resp.Status, err, body)
	}
	return body
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

// daemonEvents is the daemon's own record of its events between start and
// end (ns, both inclusive) that keep selects, in its order, as event keys.
// It is asked at the daemon's own API version: below v1.52 Docker 29
// rounds timeNano (see TestLiveDocker29Events).
func daemonEvents(t testing.TB, socket string, start, end uint64, keep func(string) bool) []string {
	t.Helper()
	return eventKeys(t, daemonRecord(t, socket, daemonAPI(t, socket), start, end, keep))
}

// eventKeys keys each of the daemon's lines (eventKey).
func eventKeys(t testing.TB, lines []string) []string {
	t.Helper()
	keys := make([]string, len(lines))
	for i, line := range lines {
		keys[i] = eventKey(t, line)
	}
	return keys
}

// daemonAPI is the newest API version of the daemon at socket.
func daemonAPI(t testing.TB, socket string) string {
	t.Helper()
	var v struct{ APIVersion string }
	if err := json.Unmarshal(daemonGet(t, socket, "/version"), &v); err != nil || v.APIVersion == "" {
		t.Fatalf("GET /version of %s: no ApiVersion (%v)", socket, err)
	}
	return v.APIVersion
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
