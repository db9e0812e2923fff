package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// groundTruth asks the daemon at socket for its own record of the events
// since since that keep selects (its ring of 256, which a restart empties:
// so it is asked before each stop), once the record holds the die of
// container last: docker run returns when its container has exited, and
// Docker 29 may publish the die event just after.
func groundTruth(t *testing.T, socket string, since time.Time, keep func(string) bool, last string) []string {
	t.Helper()
	api := daemonAPI(t, socket)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		record := daemonRecord(t, socket, api, uint64(since.UnixNano()), uint64(time.Now().UnixNano()), keep)
		for _, line := range record {
			if strings.Contains(line, `"Action":"die"`) && strings.Contains(line, `"name":"`+last+`"`) {
				return eventKeys(t, record)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon's record has no die event of %s after 30s", last)
		}
	}
}

// TestDaemonRestartsLoseAndDuplicateNothing restarts a private daemon five
// times while the plugin streams it, with containers run before each stop
// and right after each start (while the plugin is still reconnecting), and
// checks that every event the daemon reports for them was delivered exactly
// once and that next_batch never failed.
func TestDaemonRestartsLoseAndDuplicateNothing(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "restart", restartsLoseAndDuplicateNothing)
}

func restartsLoseAndDuplicateNothing(t *testing.T, opts testdocker.DaemonOptions) {
	dm := testdocker.StartDaemon(t, opts)
	d := dm.Docker()
	img := testdocker.Image(t, d)

	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10,"reconnectMin":20,"reconnectMax":200}`, dm.Host))
	c := startCollector(t, openPlugin(t, s, ""))
	mine := func(line string) bool { return strings.Contains(line, "rst-") }

	const restarts = 5
	var want []string
	run := func(name string) {
		// Each container runs to completion: none is running when the daemon
		// stops, so shutdown itself adds no event the ring could not show.
		if _, err := d.Try("run", "--name", name, img, "/bin/tool", "exit", "0"); err != nil {
			t.Fatalf("docker run %s: %v", name, err)
		}
	}
	lifeStart := time.Now()
	for round := 0; round <= restarts; round++ {
		for i := 0; i < 3; i++ {
			run(fmt.Sprintf("rst-%d-before-%d", round, i))
		}
		want = append(want, groundTruth(t, dm.Socket, lifeStart.Add(-time.Second), mine, fmt.Sprintf("rst-%d-before-2", round))...)
		if round == restarts {
			break
		}
		dm.Stop(t)
		lifeStart = time.Now()
		dm.Start(t)
		// Right after the start: the plugin may not be subscribed yet and
		// must recover these through its since= resume.
		for i := 0; i < 3; i++ {
			run(fmt.Sprintf("rst-%d-after-%d", round, i))
		}
	}
	last := fmt.Sprintf("rst-%d-before-2", restarts)
	got := c.waitFor(t, 60*time.Second, "the last container's destroy-free end (die)", func(evs []collected) bool {
		for _, e := range evs {
			if strings.Contains(e.json, `"Action":"die"`) && strings.Contains(e.json, `"name":"`+last+`"`) {
				return true
			}
		}
		return false
	})
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed during restarts: %q", bad)
	}
	delivered := requireExactlyOnce(t, got, want, mine)
	metrics := metricsOf(s)
	t.Logf("%d restarts: %d container events reported by the daemon, %d delivered, 0 lost, 0 duplicated; reconnects %d, duplicates dropped %d",
		restarts, len(want), len(delivered), metrics["reconnects"], metrics["duplicates_dropped"])
	if metrics["reconnects"] < restarts {
		t.Errorf("docker.reconnects = %d, want >= %d", metrics["reconnects"], restarts)
	}
	// A restart empties the daemon's ring: no resume can prove that nothing
	// was missed, and each counts exactly one gap.
	if metrics["resume_gaps"] != restarts {
		t.Errorf("docker.resume_gaps = %d after %d restarts, want one per restart", metrics["resume_gaps"], restarts)
	}
}

// TestReconnectAtOnceAfterLongOutage stops a private daemon for longer than
// the old doubling backoff's cap, starts it again and, as soon as it answers
// (the harness's readiness signal), creates 300 volumes through the API: more
// events than the daemon's ring holds. Only a plugin subscribed again within
// a few of them can deliver them all; it must, each once, and count the
// restart as one gap. The time from the daemon answering to the plugin being
// subscribed is logged.
func TestReconnectAtOnceAfterLongOutage(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "fastback", reconnectAtOnceAfterLongOutage)
}

func reconnectAtOnceAfterLongOutage(t *testing.T, opts testdocker.DaemonOptions) {
	dm := testdocker.StartDaemon(t, opts)
	d := dm.Docker()
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10}`, dm.Host))
	c := startCollector(t, openPlugin(t, s, ""))
	d.Run(t, "volume", "create", "fast-first")
	c.waitFor(t, 30*time.Second, "the first event", func(evs []collected) bool { return hasActor(evs, "volume", "create", "fast-first") })

	dm.Stop(t)
	time.Sleep(6 * time.Second) // the outage: longer than the former 5 s backoff cap
	dm.Start(t)
	back := time.Now()

	const volumes = 300
	burst := make(chan error, 1)
	var burstTook time.Duration
	go func() {
		err := createVolumes(dm.Socket, "fast-%03d", volumes)
		burstTook = time.Since(back)
		burst <- err
	}()
	// Polled without pause: the figure, not a synchronisation.
	var subscribed time.Duration
	for end := back.Add(30 * time.Second); time.Now().Before(end); {
		if metricsOf(s)["daemons_connected"] == 1 {
			subscribed = time.Since(back)
			break
		}
	}
	if err := <-burst; err != nil {
		t.Fatalf("creating volumes: %v", err)
	}
	// Created once the burst is over, so streamed after all of it.
	d.Run(t, "volume", "create", "fast-last")
	got := c.waitFor(t, 60*time.Second, "the volume created after the burst", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", "fast-last")
	})
	count := map[string]int{}
	for _, e := range got {
		if strings.Contains(e.json, `"Type":"volume"`) && strings.Contains(e.json, `"Action":"create"`) {
			var ev struct{ Actor struct{ ID string } }
			if err := json.Unmarshal([]byte(e.json), &ev); err != nil {
				t.Fatalf("event is not JSON: %s", e.json)
			}
			count[ev.Actor.ID]++
		}
	}
	var lost, dup int
	for i := 0; i < volumes; i++ {
		switch n := count[fmt.Sprintf("fast-%03d", i)]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	m := metricsOf(s)
	t.Logf("daemon answering to plugin subscribed: %v (polled); %d volume creates in %v right after; lost %d, duplicated %d; reconnects %d, resume gaps %d",
		subscribed.Round(time.Millisecond), volumes, burstTook.Round(time.Millisecond), lost, dup, m["reconnects"], m["resume_gaps"])
	if lost != 0 || dup != 0 {
		t.Errorf("%d of %d volume creates lost, %d duplicated: the plugin did not resume before the daemon's ring overflowed", lost, volumes, dup)
	}
	if m["resume_gaps"] != 1 {
		t.Errorf("docker.resume_gaps = %d after one restart, want 1", m["resume_gaps"])
	}
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}

// requireExactlyOnce checks that the delivered events mine selects are the
// daemon's own record want, each once (order aside), and returns their keys.
func requireExactlyOnce(t *testing.T, got []collected, want []string, mine func(string) bool) []string {
	t.Helper()
	var delivered []string
	for _, e := range got {
		if mine(e.json) {
			delivered = append(delivered, eventKey(t, e.json))
		}
	}
	sort.Strings(delivered)
	sort.Strings(want)
	if strings.Join(delivered, "\n") != strings.Join(want, "\n") {
		t.Fatalf("delivered %d events, the daemon reports %d:\n%s", len(delivered), len(want), diffKeys(delivered, want))
	}
	return delivered
}

// diffKeys lists what is missing from and extra in got.
func diffKeys(got, want []string) string {
	count := map[string]int{}
	for _, k := range want {
		count[k]++
	}
	for _, k := range got {
		count[k]--
	}
	var b strings.Builder
	for k, n := range count {
		switch {
		case n > 0:
			fmt.Fprintf(&b, "missing x%d: %s\n", n, k)
		case n < 0:
			fmt.Fprintf(&b, "extra x%d: %s\n", -n, k)
		}
	}
	return b.String()
}

// TestNetworkCutResumesWithoutDuplicates cuts the plugin's connection to a
// daemon that keeps running: on reconnect the daemon replays its ring from
// just before the last delivered event, and the plugin must deliver what
// happened during the cut once, and drop what it had already delivered.
func TestNetworkCutResumesWithoutDuplicates(t *testing.T) {
	testdocker.Require(t)
	d := testdocker.Docker{}
	proxy := startSocketProxy(t, strings.TrimPrefix(machineSocket, "unix://"))
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10,"reconnectMin":20,"reconnectMax":100,"resumeWindow":5000}`, proxy.Host))
	c := startCollector(t, openPlugin(t, s, ""))
	prefix := fmt.Sprintf("cut-%d-", time.Now().UnixNano()%1e9)
	mine := func(line string) bool { return strings.Contains(line, prefix) }
	start := time.Now()
	volumes := func(phase string, n int) {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s%s-%d", prefix, phase, i)
			d.Run(t, "volume", "create", name)
			d.Run(t, "volume", "rm", name)
		}
	}
	t.Cleanup(func() {
		for _, name := range strings.Fields(d.Run(t, "volume", "ls", "-q", "--filter", "name="+prefix)) {
			d.Try("volume", "rm", name)
		}
	})

	volumes("before", 5)
	c.waitFor(t, 30*time.Second, "events before the cut", func(evs []collected) bool {
		return hasActor(evs, "volume", "destroy", prefix+"before-4")
	})
	proxy.Cut(true)
	volumes("during", 5)
	proxy.Restore()
	volumes("after", 2)
	got := c.waitFor(t, 30*time.Second, "events after the cut", func(evs []collected) bool {
		return hasActor(evs, "volume", "destroy", prefix+"after-1")
	})
	want := daemonEvents(t, strings.TrimPrefix(machineSocket, "unix://"), uint64(start.UnixNano())-uint64(time.Second), uint64(time.Now().UnixNano()), mine)
	delivered := requireExactlyOnce(t, got, want, mine)
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
	m := metricsOf(s)
	if m["reconnects"] < 1 || m["duplicates_dropped"] < 1 {
		t.Errorf("reconnects %d, duplicates dropped %d: the resume replayed nothing already delivered", m["reconnects"], m["duplicates_dropped"])
	}
	// The plugin only ever reads: ping, version, info and events.
	readOnly := regexp.MustCompile(`^((GET|HEAD) /_ping|GET (/v[0-9.]+)?/(version|info|events))$`)
	for _, req := range proxy.Requests() {
		if !readOnly.MatchString(req) {
			t.Errorf("the plugin sent %q: only GET /_ping, /version, /info and /events are allowed", req)
		}
	}
	t.Logf("requests through the proxy: %q", proxy.Requests())
	t.Logf("cut: %d events reported by the daemon, %d delivered once each; reconnects %d, duplicates dropped %d",
		len(want), len(delivered), m["reconnects"], m["duplicates_dropped"])
}

// TestResumeGapIsReported: when more events happen during a cut than the
// daemon's ring (256) holds, the plugin cannot know what it missed; it must
// say so (docker.resume_gaps) and go on, without an error to Falco.
func TestResumeGapIsReported(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "gap", resumeGapIsReported)
}

func resumeGapIsReported(t *testing.T, opts testdocker.DaemonOptions) {
	dm := testdocker.StartDaemon(t, opts)
	d := dm.Docker()
	proxy := startSocketProxy(t, dm.Socket)
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10,"reconnectMin":20,"reconnectMax":100}`, proxy.Host))
	c := startCollector(t, openPlugin(t, s, ""))
	d.Run(t, "volume", "create", "gap-first")
	c.waitFor(t, 30*time.Second, "the first event", func(evs []collected) bool { return hasActor(evs, "volume", "create", "gap-first") })

	proxy.Cut(true)
	if err := createVolumes(dm.Socket, "gap-%03d", 300); err != nil {
		t.Fatalf("creating volumes during the cut: %v", err)
	}
	proxy.Restore()
	d.Run(t, "volume", "create", "gap-last")
	c.waitFor(t, 30*time.Second, "the event after the cut", func(evs []collected) bool { return hasActor(evs, "volume", "create", "gap-last") })
	// The gap is known once the whole replay has been read, which can be
	// after its last event reached the test: wait for the counter.
	var gaps uint64
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if gaps = metricsOf(s)["resume_gaps"]; gaps > 0 {
			break
		}
	}
	if gaps != 1 {
		t.Errorf("docker.resume_gaps = %d after 300 events during a cut, want 1", gaps)
	}
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}

// createVolumes creates n volumes named fmt.Sprintf(format, i) through the
// API of the daemon at socket, 8 calls at a time: hundreds of events within
// a second, where the docker CLI takes a tenth of a second a call.
func createVolumes(socket, format string, n int) error {
	api := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", socket)
	}}}
	defer api.CloseIdleConnections()
	return testdocker.Parallel(n, 8, func(i int) error {
		name := fmt.Sprintf(format, i)
		resp, err := api.Post("http://docker/volumes/create", "application/json", strings.NewReader(fmt.Sprintf(`{"Name":%q}`, name)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("volume create %s: %s", name, resp.Status)
		}
		return nil
	})
}
