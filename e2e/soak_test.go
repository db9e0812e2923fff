package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// The soak's shape.
const (
	soakRestarts     = 20
	soakKillEvery    = 4                // every 4th restart is a SIGKILL, the others SIGTERM
	soakWorkers      = 12               // concurrent API callers
	soakPairsPerSec  = 150              // create+remove pairs: 300 events/s while the daemon answers
	soakLoadBetween  = 400              // events the workload causes between two restarts (~2 s)
	soakStallBefore  = soakRestarts / 2 // the consumer stalls before this restart
	soakStall        = 5 * time.Second  // how long next_batch is not called
	soakProgressWait = 90 * time.Second // bound on waiting for the workload's progress
	// soakLossWindow is how long before a restart an operation may have
	// completed and still have its event lost: the daemon publishes the
	// event before it answers the call, then its /events handler writes it
	// out; a daemon that dies in between takes it along, and its restart
	// empties the ring a resume replays from. A daemon stopping on SIGTERM
	// also answers the calls in flight until it exits, and Docker 29 ends
	// its /events streams first (the plugin logs "events stream closed"):
	// the events of those calls reach no subscriber, so a loss may also
	// come from a call answered after the signal.
	soakLossWindow = time.Second
	soakPrefix     = "soak-"
	soakSentinel   = soakPrefix + "end"
)

// TestSoakRestartsUnderLoad streams a private Docker 20.10 and a private
// Docker 29 through the C ABI while a steady workload of volume creates and
// removes runs through the daemon's API, restarts the daemon 20 times (every
// 4th with SIGKILL) and stalls the consumer once for 5 s. Every event the
// workload caused must be delivered exactly once and in order per volume;
// the only events allowed missing are those of calls that completed just
// before a restart, inside a gap the plugin counted and logged (a restart
// empties the daemon's ring, so each counts one: docker.resume_gaps equals
// the restarts). Nothing overflows the plugin's queue.
func TestSoakRestartsUnderLoad(t *testing.T) {
	testdocker.Require(t)
	// One after the other: private daemons compete for the CPU.
	onEachDocker(t, "soak", soak)
}

// restart is one stop and start of the daemon, on the host's clock (the
// daemon's, as it runs on the same host).
type restart struct {
	kill       bool
	signalAt   time.Time // SIGTERM or SIGKILL sent
	stoppedAt  time.Time // dockerd gone
	answeredAt time.Time // the new dockerd answers /_ping
	subscribed time.Duration
	failures   uint64        // resumes that failed during this restart
	caughtUp   int           // events caused on the new daemon before the plugin subscribed
	info       time.Duration // GET /info by the test right after the start
}

func soak(t *testing.T, opts testdocker.DaemonOptions) {
	dm := testdocker.StartDaemon(t, opts)
	s, err := plugin.InitWith(fmt.Sprintf(`{"host":%q}`, dm.Host), host.InitOptions{Log: true})
	if err != nil {
		t.Fatalf("plugin_init: %v", err)
	}
	t.Cleanup(s.Destroy)
	c := startSoakConsumer(t, s, openPlugin(t, s, ""), soakPrefix)
	w := newVolumeWorkload(dm.Socket, soakPrefix)

	stopLoad, stop := context.WithCancel(context.Background())
	abortLoad, abort := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	loadStart := time.Now()
	go func() { w.run(stopLoad, abortLoad, soakWorkers, soakPairsPerSec); close(loadDone) }()
	t.Cleanup(func() { stop(); abort(); <-loadDone })

	var loaded time.Duration // time spent waiting for the load between restarts
	progress := func(what string) {
		t.Helper()
		start := time.Now()
		if err := w.waitEvents(soakLoadBetween, soakProgressWait); err != nil {
			t.Fatalf("%s: %v\n--- dockerd.log tail:\n%s", what, err, dm.LogTail(20))
		}
		loaded += time.Since(start)
	}
	var restarts []restart
	var queueAtStall uint64
	var stallAt time.Time
	for i := 1; i <= soakRestarts; i++ {
		progress(fmt.Sprintf("load before restart %d", i))
		if i == soakStallBefore {
			stallAt = time.Now()
			queueAtStall = c.stall(soakStall)
		}
		failedBefore := metricsOf(s)["resume_failures"]
		r := restart{kill: i%soakKillEvery == 0, signalAt: time.Now()}
		if r.kill {
			dm.Kill(t)
		} else {
			dm.Stop(t)
		}
		r.stoppedAt = time.Now()
		// The plugin has seen its stream end before the daemon is back,
		// so that the next connected state is the new subscription.
		waitMetric(t, s, "daemons_connected", 0, 30*time.Second)
		dm.Start(t)
		r.answeredAt = time.Now()
		// How fast the new daemon answers the heaviest request of a
		// resume, to judge the reconnect time by: made alongside it.
		info := make(chan time.Duration, 1)
		go func() {
			start := time.Now()
			w.call(http.MethodGet, "/info", "")
			info <- time.Since(start)
		}()
		r.subscribed = waitMetric(t, s, "daemons_connected", 1, 30*time.Second)
		r.info = <-info
		r.failures = metricsOf(s)["resume_failures"] - failedBefore
		restarts = append(restarts, r)
	}
	progress("load after the last restart")
	stop()
	<-loadDone
	loadEnd := time.Now()

	// Published after every call of the workload returned: once it is
	// delivered, so is everything the workload caused (the stream and its
	// resumes keep the daemon's order).
	if status, err := w.call(http.MethodPost, "/volumes/create", fmt.Sprintf(`{"Name":%q}`, soakSentinel)); err != nil || status != 201 {
		t.Fatalf("creating %s: %d %v", soakSentinel, status, err)
	}
	c.waitVolume(t, soakSentinel, "create", 60*time.Second)
	c.halt()
	m := metricsOf(s)

	order, ops, failures := w.snapshot()
	total, byVolume, mismatch, bad := c.result()
	for _, f := range failures {
		t.Errorf("workload: %s", f)
	}
	for _, f := range mismatch {
		t.Errorf("extraction: %s", f)
	}
	if len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
	gaps, notes := pluginLog(t, s)
	for _, n := range notes {
		t.Logf("plugin: %s", n)
	}

	var f soakFigures
	for _, name := range order {
		o := ops[name]
		got := byVolume[name]
		f.check(t, name, "create", o.create, got)
		f.check(t, name, "destroy", o.destroy, got)
		// Order per volume: its create before its destroy.
		var seen []string
		for _, d := range got {
			seen = append(seen, d.action)
		}
		if len(got) == 2 && (got[0].action != "create" || got[1].action != "destroy") {
			t.Errorf("volume %s: delivered %v, want create before destroy", name, seen)
		}
	}
	for name, got := range byVolume {
		if _, ok := ops[name]; !ok && name != soakSentinel {
			t.Errorf("volume %s: %d events delivered for a volume the workload never made", name, len(got))
		}
	}
	// Events the workload caused on each new daemon before the plugin
	// was subscribed again: the daemon's ring (256) must still hold them
	// when the resume's replay is read.
	for i := range restarts {
		r := &restarts[i]
		back := r.answeredAt.Add(r.subscribed)
		for _, o := range ops {
			for _, op := range []opOutcome{o.create, o.destroy} {
				if op.state == succeeded && op.end.After(r.stoppedAt) && !op.end.After(back) {
					r.caughtUp++
				}
			}
		}
	}
	for _, l := range f.lost {
		f.explainLoss(t, l, restarts, gaps)
	}

	var kills int
	var longest time.Duration
	var mostCaughtUp int
	var reconnects []string
	for _, r := range restarts {
		if r.kill {
			kills++
		}
		longest = max(longest, r.subscribed)
		mostCaughtUp = max(mostCaughtUp, r.caughtUp)
		each := fmt.Sprintf("%v (down %v, GET /info %v, %d events", r.subscribed.Round(time.Millisecond), r.answeredAt.Sub(r.signalAt).Round(100*time.Millisecond), r.info.Round(time.Millisecond), r.caughtUp)
		if r.failures > 0 {
			each += fmt.Sprintf(", %d resumes failed", r.failures)
		}
		reconnects = append(reconnects, each+")")
	}
	span := loadEnd.Sub(loadStart)
	t.Logf("%s: %d restarts (%d SIGTERM, %d SIGKILL) over %v of load, consumer stalled %v at +%v with the queue then at %d lines",
		dm.Name, len(restarts), len(restarts)-kills, kills, span.Round(time.Millisecond), soakStall, stallAt.Sub(loadStart).Round(time.Second), queueAtStall)
	t.Logf("events: expected %d, delivered %d, lost %d (%d after SIGTERM, %d after SIGKILL), duplicated %d; calls with no answer %d (their events delivered: %d); all events delivered %d",
		f.expected, f.delivered, len(f.lost), f.lostAfter[false], f.lostAfter[true], f.duplicated, f.uncertain, f.uncertainDelivered, total)
	t.Logf("rate: %.0f events/s over the run, restarts included; %.0f events/s between restarts",
		float64(f.expected)/span.Seconds(), float64(soakLoadBetween*(soakRestarts+1))/loaded.Seconds())
	t.Logf("reconnect (daemon answering /_ping to plugin subscribed): longest %v, most events caused meanwhile %d (the daemon keeps 256); each: %s",
		longest.Round(time.Millisecond), mostCaughtUp, strings.Join(reconnects, ", "))
	t.Logf("metrics: resume_gaps %d (%d gaps logged), reconnects %d, resume_failures %d, duplicates_dropped %d, queue_overflows %d, events_delivered %d",
		m["resume_gaps"], len(gaps), m["reconnects"], m["resume_failures"], m["duplicates_dropped"], m["queue_overflows"], m["events_delivered"])

	// A restart empties the daemon's ring: the resume's replay lacks the
	// last event received and cannot prove that nothing was missed, so
	// each restart counts one gap (stream/resume.go, settleReplay). A
	// second gap would need the ring to overflow between the replay and the
	// live subscription that follows it, milliseconds at this rate.
	if m["resume_gaps"] != uint64(len(restarts)) {
		t.Errorf("docker.resume_gaps = %d after %d restarts, want one per restart", m["resume_gaps"], len(restarts))
	}
	if m["reconnects"] < uint64(len(restarts)) {
		t.Errorf("docker.reconnects = %d after %d restarts", m["reconnects"], len(restarts))
	}
	if m["queue_overflows"] != 0 {
		t.Errorf("docker.queue_overflows = %d: the queue did not absorb the %v stall", m["queue_overflows"], soakStall)
	}
	if queueAtStall == 0 {
		t.Errorf("the queue was empty after the %v stall: the stall held nothing back", soakStall)
	}
	if f.duplicated != 0 {
		t.Errorf("%d events delivered more than once", f.duplicated)
	}
}

// soakFigures tallies the comparison of what the workload did with what was
// delivered.
type soakFigures struct {
	expected, delivered, duplicated int
	uncertain, uncertainDelivered   int
	lost                            []lostEvent
	lostAfter                       map[bool]int // by restart kind: kill or not
}

type lostEvent struct {
	volume, action string
	op             opOutcome
}

// check compares one operation with the events of its kind delivered.
func (f *soakFigures) check(t *testing.T, name, action string, op opOutcome, got []deliveredAction) {
	t.Helper()
	n := 0
	for _, d := range got {
		if d.action == action {
			n++
		}
	}
	switch op.state {
	case succeeded:
		f.expected++
		switch {
		case n == 0:
			f.lost = append(f.lost, lostEvent{volume: name, action: action, op: op})
		case n > 1:
			f.duplicated += n - 1
			t.Errorf("volume %s %s: delivered %d times", action, name, n)
		}
		f.delivered += min(n, 1)
	case uncertain:
		f.uncertain++
		f.uncertainDelivered += min(n, 1)
		if n > 1 {
			f.duplicated += n - 1
			t.Errorf("volume %s %s (call without answer): delivered %d times", action, name, n)
		}
	case notDone:
		if n > 0 {
			t.Errorf("volume %s %s: delivered %d times, but never done", action, name, n)
		}
	}
}

// explainLoss checks that a lost event is one the daemon lost to a restart:
// its call completed within soakLossWindow before the daemon went down, and
// its time lies in one of the gaps the plugin logged.
func (f *soakFigures) explainLoss(t *testing.T, l lostEvent, restarts []restart, gaps []gapWindow) {
	t.Helper()
	if f.lostAfter == nil {
		f.lostAfter = map[bool]int{}
	}
	var near *restart
	for i := range restarts {
		r := &restarts[i]
		if !l.op.end.Before(r.signalAt.Add(-soakLossWindow)) && !l.op.end.After(r.stoppedAt) {
			near = r
			break
		}
	}
	// The event was stamped while the call ran, so within [start, end].
	// Events are published in the order of their stamps give or take a
	// few scheduling delays: allow the stamp a little before the gap's
	// start, the last event received.
	const reorder = 50 * time.Millisecond
	inGap := false
	for _, g := range gaps {
		if !l.op.end.Before(g.from.Add(-reorder)) && !l.op.start.After(g.to) {
			inGap = true
			break
		}
	}
	what := fmt.Sprintf("volume %s %s (call %s..%s)", l.action, l.volume, l.op.start.Format("15:04:05.000000"), l.op.end.Format("15:04:05.000000"))
	switch {
	case near == nil || !inGap:
		why := fmt.Sprintf("not within %v before a restart", soakLossWindow)
		if near != nil {
			why = "outside every gap the plugin logged"
		}
		t.Errorf("%s lost, %s\n%s", what, why, lossContext(l.op, restarts, gaps))
	default:
		f.lostAfter[near.kill]++
		sig := "SIGTERM"
		if near.kill {
			sig = "SIGKILL"
		}
		when := fmt.Sprintf("%v before its %s", near.signalAt.Sub(l.op.end).Round(time.Microsecond), sig)
		if l.op.end.After(near.signalAt) {
			// A daemon stopping with SIGTERM still answers the calls in
			// flight; Docker 29 ends its /events streams first.
			when = fmt.Sprintf("%v after its %s", l.op.end.Sub(near.signalAt).Round(time.Microsecond), sig)
		}
		t.Logf("%s lost by the daemon: answered %s", what, when)
	}
}

// lossContext describes the restarts and gaps around an operation, for a
// loss the test cannot explain.
func lossContext(op opOutcome, restarts []restart, gaps []gapWindow) string {
	var b strings.Builder
	clock := func(t time.Time) string { return t.Format("15:04:05.000000") }
	for i, r := range restarts {
		if r.signalAt.After(op.end.Add(10*time.Second)) || r.answeredAt.Add(r.subscribed).Before(op.start.Add(-10*time.Second)) {
			continue
		}
		sig := "SIGTERM"
		if r.kill {
			sig = "SIGKILL"
		}
		fmt.Fprintf(&b, "  restart %d: %s at %s, gone at %s, answering at %s, subscribed at %s; %d events caused on the new daemon until then\n",
			i+1, sig, clock(r.signalAt), clock(r.stoppedAt), clock(r.answeredAt), clock(r.answeredAt.Add(r.subscribed)), r.caughtUp)
	}
	for _, g := range gaps {
		if g.to.Before(op.start.Add(-10*time.Second)) || g.from.After(op.end.Add(10*time.Second)) {
			continue
		}
		fmt.Fprintf(&b, "  gap logged: %s .. %s\n", clock(g.from.Local()), clock(g.to.Local()))
	}
	return b.String()
}

// gapWindow is one gap the plugin logged, on the daemon's clock.
type gapWindow struct{ from, to time.Time }

var gapMessage = regexp.MustCompile(`events between (\S+) and (\S+) \(daemon clock\) may have been lost`)

// pluginLog reads the gaps from the plugin's log (stream/resume.go, gap),
// and returns the other messages, each once with its count.
func pluginLog(t *testing.T, s *host.State) (gaps []gapWindow, others []string) {
	t.Helper()
	records, dropped := s.Logs()
	if dropped > 0 {
		t.Errorf("%d log records dropped: gaps may be missing", dropped)
	}
	count := map[string]int{}
	for _, r := range records {
		m := gapMessage.FindStringSubmatch(r.Message)
		if m == nil {
			if strings.Contains(r.Message, "may have been lost") {
				t.Errorf("unparsed gap message: %s", r.Message)
			}
			if count[r.Message]++; count[r.Message] == 1 {
				others = append(others, r.Message)
			}
			continue
		}
		from, err1 := time.Parse(time.RFC3339Nano, m[1])
		to, err2 := time.Parse(time.RFC3339Nano, m[2])
		if err1 != nil || err2 != nil {
			t.Errorf("gap message with bad times: %s", r.Message)
			continue
		}
		gaps = append(gaps, gapWindow{from, to})
	}
	for i, msg := range others {
		others[i] = fmt.Sprintf("%dx %s", count[msg], msg)
	}
	return gaps, others
}

// waitMetric polls a metric until it has value want and returns how long
// that took; the test fails after deadline. The poll is the measurement
// (its interval bounds the resolution), not a synchronisation stand-in.
func waitMetric(t *testing.T, s *host.State, name string, want uint64, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if metricsOf(s)[name] == want {
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			t.Fatalf("metric %s did not reach %d within %v", name, want, deadline)
		}
		time.Sleep(time.Millisecond)
	}
}
