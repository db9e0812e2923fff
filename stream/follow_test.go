package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// followed runs a Follower against a fake daemon and records what reaches
// its queue.
type followed struct {
	f *Follower

	mu       sync.Mutex
	got      map[string]int // actor name: times delivered
	changed  chan struct{}
	warnings []string
}

func follow(t *testing.T, fd *fakeDaemon, opts FollowOptions) *followed {
	t.Helper()
	d, err := NewDaemon(DaemonConfig{Host: fd.host(), APIVersion: "1.41"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 50*time.Millisecond
	}
	if opts.ResumeWindow == 0 {
		opts.ResumeWindow = time.Second
	}
	opts.MaxEventSize = 1 << 20
	q := NewQueue(8192, 64<<20)
	fl := &followed{got: map[string]int{}, changed: make(chan struct{}, 1)}
	fl.f = NewFollower(d, q, opts, func(msg string) {
		fl.mu.Lock()
		fl.warnings = append(fl.warnings, msg)
		fl.mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := fl.f.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fd.waitLive(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fl.f.Run(ctx, sub)
	}()
	go func() {
		for l := range q.Lines() {
			var ev struct{ Actor struct{ ID string } }
			if err := json.Unmarshal(l.Data, &ev); err != nil {
				t.Errorf("delivered %q: %v", l.Data, err)
			}
			fl.mu.Lock()
			fl.got[ev.Actor.ID]++
			fl.mu.Unlock()
			select {
			case fl.changed <- struct{}{}:
			default:
			}
			q.Release(l)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		q.Finish(nil)
		d.Close()
	})
	return fl
}

// waitFor waits until name was delivered.
func (fl *followed) waitFor(t *testing.T, name string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		fl.mu.Lock()
		n := fl.got[name]
		fl.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-fl.changed:
		case <-deadline:
			t.Fatalf("%s not delivered within 10s; warnings: %q", name, fl.warningsSoFar())
		}
	}
}

func (fl *followed) warningsSoFar() []string {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return append([]string(nil), fl.warnings...)
}

// account counts the names in want that were not delivered, the deliveries
// beyond the first of any event, and the events delivered that are not in
// want.
func (fl *followed) account(want []string) (lost, dup, extra int) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	wanted := map[string]bool{}
	for _, name := range want {
		wanted[name] = true
		if fl.got[name] == 0 {
			lost++
		}
	}
	for name, n := range fl.got {
		dup += n - 1
		if !wanted[name] {
			extra++
		}
	}
	return lost, dup, extra
}

// outage describes one disconnection of a fake daemon.
type outage struct {
	restart bool // the daemon restarts (ring emptied), else the network is cut
	during  func(fd *fakeDaemon) (delivered, lost []string)
	after   func(fd *fakeDaemon) []string // right after the endpoint is back
}

// runOutage delivers events before the cut (unless first is set: then the
// first connection drops before any event), applies o, emits a last event
// once the follower is subscribed again, and returns the events that must
// have been delivered and those that could not be.
func runOutage(t *testing.T, fd *fakeDaemon, fl *followed, first bool, typ string, o outage) (want, lost []string) {
	t.Helper()
	if !first {
		want = fd.emitN(typ, 5)
		fl.waitFor(t, want[len(want)-1])
	}
	fd.stop(o.restart)
	if o.during != nil {
		d, l := o.during(fd)
		want, lost = append(want, d...), l
	}
	fd.start()
	if o.after != nil {
		want = append(want, o.after(fd)...)
	}
	fd.waitLive(t)
	last := fd.emit(typ)
	fl.waitFor(t, last)
	return append(want, last), lost
}

func checkOutage(t *testing.T, fl *followed, want, lost []string, wantGaps uint64) {
	t.Helper()
	gotLost, dup, extra := fl.account(want)
	for _, name := range lost {
		if fl.got[name] > 0 {
			t.Errorf("%s delivered, though the daemon's ring had dropped it", name)
		}
	}
	gaps := fl.f.Stats.ResumeGaps.Load()
	t.Logf("%d events due, %d lost, %d duplicated, %d unexpected; %d beyond the ring; gaps %d, reconnects %d, duplicates dropped %d",
		len(want), gotLost, dup, extra, len(lost), gaps, fl.f.Stats.Reconnects.Load(), fl.f.Stats.Duplicates.Load())
	if gotLost != 0 || dup != 0 || extra != 0 {
		t.Errorf("lost %d, duplicated %d, unexpected %d: want 0", gotLost, dup, extra)
	}
	if gaps != wantGaps {
		t.Errorf("resume gaps = %d, want %d; warnings %q", gaps, wantGaps, fl.warningsSoFar())
	}
	var logged uint64
	for _, w := range fl.warningsSoFar() {
		if strings.Contains(w, "may have been lost") {
			logged++
		}
	}
	if logged != wantGaps {
		t.Errorf("%d gap warnings, want %d: %q", logged, wantGaps, fl.warningsSoFar())
	}
	if fl.f.Stats.Reconnects.Load() == 0 {
		t.Error("no reconnect counted")
	}
}

// during emits n events of typ while the follower is away.
func during(typ string, n int) func(*fakeDaemon) ([]string, []string) {
	return func(fd *fakeDaemon) ([]string, []string) {
		names := fd.emitN(typ, n)
		if n > daemonRingSize {
			return names[n-daemonRingSize:], names[:n-daemonRingSize]
		}
		return names, nil
	}
}

// A cut with fewer events than the ring holds loses and duplicates nothing,
// whatever the daemon's clock says, and counts no gap; one with more counts
// one gap, and the events beyond the ring are the only ones lost.
func TestFollowerResumesACut(t *testing.T) {
	for _, tc := range []struct {
		name     string
		skew     time.Duration
		events   int
		wantGaps uint64
	}{
		{"100 events", 0, 100, 0},
		{"255 events, the ring still holds the last one delivered", 0, daemonRingSize - 1, 0},
		{"300 events", 0, 300, 1},
		{"daemon clock +10s", 10 * time.Second, 100, 0},
		{"daemon clock -10s", -10 * time.Second, 100, 0},
		{"daemon clock +10s, 300 events", 10 * time.Second, 300, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := newFakeDaemon(t, tc.skew, false)
			fd.emitN("volume", 3) // before the open: never delivered
			fl := follow(t, fd, FollowOptions{})
			want, lost := runOutage(t, fd, fl, false, "volume", outage{during: during("volume", tc.events)})
			checkOutage(t, fl, want, lost, tc.wantGaps)
		})
	}
}

// A restart empties the daemon's ring: the resume cannot prove that nothing
// was missed and counts one gap, and the events of the new daemon all
// arrive once.
func TestFollowerCountsARestartAsAGap(t *testing.T) {
	fd := newFakeDaemon(t, 0, false)
	fl := follow(t, fd, FollowOptions{})
	want, lost := runOutage(t, fd, fl, false, "volume", outage{restart: true, after: func(fd *fakeDaemon) []string {
		return fd.emitN("volume", 20)
	}})
	checkOutage(t, fl, want, lost, 1)
}

// When the first connection drops before any event, the resume replays the
// ring from its start: events from before the open prove that it covers
// the outage (no gap) and are not delivered; after a restart nothing can
// prove it (one gap).
func TestFollowerFirstDropBeforeAnyEvent(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "cut"
		wantGaps := uint64(0)
		if restart {
			name, wantGaps = "restart", 1
		}
		t.Run(name, func(t *testing.T) {
			fd := newFakeDaemon(t, 0, false)
			fd.emitN("volume", 3)
			fl := follow(t, fd, FollowOptions{})
			o := outage{restart: restart, after: func(fd *fakeDaemon) []string { return fd.emitN("volume", 10) }}
			if !restart {
				o.during = during("volume", 10)
			}
			want, lost := runOutage(t, fd, fl, true, "volume", o)
			checkOutage(t, fl, want, lost, wantGaps)
		})
	}
}

// Filters apply after the ring: events filtered out still push the last one
// delivered out of it. A resume then counts a gap even though it replays
// few events; with room left in the ring it counts none.
func TestFollowerFilteredReplayOfAnOverflowedRing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		volumes  int
		wantGaps uint64
	}{
		{"100 filtered-out events", 100, 0},
		{"300 filtered-out events", 300, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := newFakeDaemon(t, 0, false)
			fl := follow(t, fd, FollowOptions{Filters: `{"type":{"container":true}}`})
			want, lost := runOutage(t, fd, fl, false, "container", outage{during: func(fd *fakeDaemon) ([]string, []string) {
				early := fd.emitN("container", 3)
				fd.emitN("volume", tc.volumes)
				late := fd.emitN("container", 3)
				if 6+tc.volumes > daemonRingSize {
					return late, early
				}
				return append(early, late...), nil
			}})
			checkOutage(t, fl, want, lost, tc.wantGaps)
		})
	}
}

// Events that push the end of the replay out of the ring before the live
// stream begins are a gap too, counted once.
func TestFollowerChecksTheLiveStreamContinuesTheReplay(t *testing.T) {
	fd := newFakeDaemon(t, 0, false)
	fl := follow(t, fd, FollowOptions{})
	var once sync.Once
	bursts := make(chan []string, 1)
	fd.mu.Lock()
	fd.onReplay = func() { once.Do(func() { bursts <- fd.emitN("volume", 300) }) }
	fd.mu.Unlock()
	want, _ := runOutage(t, fd, fl, false, "volume", outage{during: during("volume", 10)})
	burst := <-bursts
	want = append(want, burst[300-daemonRingSize:]...)
	checkOutage(t, fl, want, burst[:300-daemonRingSize], 1)
}

// A daemon that answers but refuses the resume is retried: each failure is
// counted, the first is logged and the next ones within a minute are not.
func TestFollowerCountsAndLogsFailedResumes(t *testing.T) {
	fd := newFakeDaemon(t, 0, false)
	fl := follow(t, fd, FollowOptions{})
	want, lost := runOutage(t, fd, fl, false, "volume", outage{during: func(fd *fakeDaemon) ([]string, []string) {
		fd.failEvents = 3
		return fd.emitN("volume", 10), nil
	}})
	checkOutage(t, fl, want, lost, 0)
	if n := fl.f.Stats.ResumeFailures.Load(); n != 3 {
		t.Errorf("resume failures = %d, want 3", n)
	}
	var logged int
	for _, w := range fl.warningsSoFar() {
		if strings.Contains(w, "resume failed") {
			logged++
		}
	}
	if logged != 1 {
		t.Errorf("%d resume failures logged, want 1: %q", logged, fl.warningsSoFar())
	}
}

// After a long outage the follower is subscribed again soon after the
// daemon is back: every 10 ms on a unix socket, at most MaxBackoff on tcp.
// The figures are logged; what is asserted is that the events the daemon
// publishes as soon as it is back are all delivered.
func TestFollowerReconnectsAtOnceAfterALongOutage(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := "unix"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) {
			fd := newFakeDaemon(t, 0, tcp)
			fl := follow(t, fd, FollowOptions{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
			first := fd.emit("volume")
			fl.waitFor(t, first)
			fd.stop(true)
			time.Sleep(3 * time.Second) // the outage, long enough for the backoff to reach its cap
			fd.start()
			back := time.Now()
			after := fd.emitN("volume", 50)
			subscribed := fd.waitLive(t)
			last := fd.emit("volume")
			fl.waitFor(t, last)
			t.Logf("%s: subscribed %v after the daemon was back", name, subscribed.Sub(back).Round(time.Millisecond))
			lost, dup, _ := fl.account(append(append(after, first), last))
			if lost != 0 || dup != 0 {
				t.Errorf("lost %d, duplicated %d", lost, dup)
			}
		})
	}
}

// A daemon stamps an event before it appends it to its ring: on a busy
// daemon an event stamped before the resume read the daemon's clock can
// reach the ring only after the replay read it. After a restart the replay
// is empty; the live stream that follows must still carry such an event.
func TestFollowerKeepsAnEventStampedBeforeAnEmptyReplay(t *testing.T) {
	for _, skew := range []time.Duration{0, 10 * time.Second, -10 * time.Second} {
		t.Run(fmt.Sprintf("daemon clock %+v", skew), func(t *testing.T) {
			fd := newFakeDaemon(t, skew, false)
			fl := follow(t, fd, FollowOptions{})
			var once sync.Once
			late := make(chan string, 1)
			fd.mu.Lock()
			fd.onReplay = func() {
				once.Do(func() {
					fd.mu.Lock()
					stamp := fd.infoNano - 1 // before the daemon time the resume read
					fd.mu.Unlock()
					late <- fd.emitStamped("volume", stamp)
				})
			}
			fd.mu.Unlock()
			want, lost := runOutage(t, fd, fl, false, "volume", outage{restart: true})
			checkOutage(t, fl, append(want, <-late), lost, 1)
		})
	}
}
