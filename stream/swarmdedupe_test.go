package stream

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// swarmLine is a Swarm-scoped event as a manager writes it.
func swarmLine(typ, action, id, name string, nano int64) []byte {
	return fmt.Appendf(nil, `{"Type":%q,"Action":%q,"Actor":{"ID":%q,"Attributes":{"name":%q}},"scope":"swarm","time":%d,"timeNano":%d}`,
		typ, action, id, name, nano/1e9, nano)
}

// dedupeRig feeds lines from numbered hosts through one deduper and
// records what was queued.
type dedupeRig struct {
	t     *testing.T
	d     *SwarmDedupe
	q     *Queue
	now   time.Duration
	hosts []*Origin
}

func newDedupeRig(t *testing.T, hosts int) *dedupeRig {
	r := &dedupeRig{t: t, d: NewSwarmDedupe(hosts), q: NewQueue(1<<16, 64<<20)}
	r.d.clock = func() int64 { return int64(r.now) }
	for i := range hosts {
		r.hosts = append(r.hosts, &Origin{Host: fmt.Sprintf("tcp://m%d:2376", i)})
	}
	return r
}

// send offers line from host and reports whether it was queued (not
// dropped as a copy).
func (r *dedupeRig) send(host int, line []byte) bool {
	r.t.Helper()
	before := r.q.Len()
	if !r.d.Offer(r.q, host, line, TimeNano(line), r.hosts[host]) {
		r.t.Fatalf("the queue overflowed")
	}
	return r.q.Len() > before
}

const t0 = int64(1_795_550_026_796_334_283)

func TestSwarmDedupeDeliversEachChangeOnce(t *testing.T) {
	r := newDedupeRig(t, 3)
	// Create and update carry the store's time, the same from every
	// manager; remove carries each manager's own clock.
	create := swarmLine("secret", "create", "s1", "db-password", t0)
	if !r.send(0, create) || r.send(1, create) || r.send(2, create) {
		t.Errorf("create: want it from the first manager only")
	}
	if !r.send(2, swarmLine("secret", "remove", "s1", "db-password", t0+5e9+7)) ||
		r.send(0, swarmLine("secret", "remove", "s1", "db-password", t0+5e9+1)) ||
		r.send(1, swarmLine("secret", "remove", "s1", "db-password", t0+5e9+30)) {
		t.Errorf("remove: want it from the first manager only")
	}
	if got := r.d.Dropped(); got != 4 {
		t.Errorf("dropped %d, want 4", got)
	}
	if r.q.Len() != 2 {
		t.Errorf("queued %d, want 2", r.q.Len())
	}
}

// Two genuine changes that look the same (a service updated twice to the
// same state) are both delivered, whatever order the managers' copies come
// in.
func TestSwarmDedupeKeepsGenuineRepeats(t *testing.T) {
	for _, order := range [][]int{
		{0, 1, 0, 1},
		{0, 0, 1, 1},
		{0, 1, 1, 0},
		{1, 0, 0, 1},
	} {
		r := newDedupeRig(t, 2)
		queued := 0
		for i, host := range order {
			if r.send(host, swarmLine("service", "update", "svc1", "web", t0+int64(i))) {
				queued++
			}
		}
		if queued != 2 || r.d.Dropped() != 2 {
			t.Errorf("order %v: queued %d, dropped %d; want 2 and 2", order, queued, r.d.Dropped())
		}
	}
	// Three changes seen by one manager before the other's copies arrive.
	r := newDedupeRig(t, 2)
	line := swarmLine("node", "update", "n1", "wrk", t0)
	for range 3 {
		r.send(0, line)
	}
	for i := range 3 {
		if r.send(1, line) {
			t.Errorf("copy %d of the second manager was delivered", i+1)
		}
	}
	if !r.send(1, line) {
		t.Errorf("a fourth change, seen first by the second manager, was dropped")
	}
	if r.send(0, line) {
		t.Errorf("the first manager's copy of the fourth change was delivered")
	}
}

// Local events are never touched, even identical ones from two hosts, and
// even when a label or an attribute reads like a Swarm scope.
func TestSwarmDedupeLeavesOtherEventsAlone(t *testing.T) {
	r := newDedupeRig(t, 2)
	for _, line := range []string{
		`{"Type":"network","Action":"create","Actor":{"ID":"n1","Attributes":{"name":"br","type":"bridge"}},"scope":"local","time":1,"timeNano":1000000001}`,
		`{"status":"start","id":"c1","from":"img","Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"scope":"swarm","name":"x"}},"scope":"local","time":1,"timeNano":1000000001}`,
		`{"Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"l":",\"scope\":\"swarm\",\"time\":1,\"timeNano\":2}"}},"scope":"local","time":1,"timeNano":1000000001}`,
		`{"Type":"service","Action":"update","Actor":{"ID":"s1","Attributes":{"name":"x"}},"scope":"swarm","time":1,"timeNano":1000000001,"extra":1}`,
	} {
		if !r.send(0, []byte(line)) || !r.send(1, []byte(line)) {
			t.Errorf("dropped %s", line)
		}
	}
	if r.d.Dropped() != 0 || len(r.d.entries) != 0 {
		t.Errorf("dropped %d, remembered %d keys", r.d.Dropped(), len(r.d.entries))
	}
}

// A copy later than copyLag is delivered again rather than risk dropping a
// genuine change; a manager whose stream had a gap is owed nothing.
func TestSwarmDedupeForgetsStaleCopies(t *testing.T) {
	r := newDedupeRig(t, 2)
	line := swarmLine("config", "update", "c1", "nginx.conf", t0)
	r.send(0, line)
	r.send(1, line) // both managers active
	r.send(0, line)
	r.now += copyLag + time.Second
	if !r.send(1, line) {
		t.Errorf("a copy later than copyLag was dropped")
	}

	r = newDedupeRig(t, 2)
	r.send(0, line)
	r.send(1, line)
	r.send(0, line) // the second manager is disconnected and misses it
	r.d.Forget(1)   // then resumes with a gap
	if !r.send(1, line) {
		t.Errorf("a new change after a gap was taken for the copy of one the gap lost")
	}
}

// A line lost to a full queue on one manager is delivered from another,
// and that leaves no credit that would swallow the next genuine change.
func TestSwarmDedupeOverflowIsHealedByAnotherManager(t *testing.T) {
	r := newDedupeRig(t, 2)
	full := NewQueue(1, 1<<20)
	full.Offer([]byte(`{}`), 0, nil)
	line := swarmLine("service", "update", "svc1", "web", t0)
	if r.d.Offer(full, 0, line, TimeNano(line), r.hosts[0]) {
		t.Fatalf("a full queue took the line")
	}
	if !r.send(1, line) {
		t.Errorf("the other manager's copy of the lost line was dropped")
	}
	if !r.send(0, line) || r.send(1, line) {
		t.Errorf("the next genuine change: want it once")
	}
}

// Memory is bounded: at most maxCopyKeys keys, at most maxOwed credits per
// key and host, and keys untouched for copyLag go.
func TestSwarmDedupeMemoryIsBounded(t *testing.T) {
	r := newDedupeRig(t, 3)
	for i := range 10 * maxCopyKeys {
		r.send(i%2, swarmLine("node", "update", fmt.Sprint("n", i), "x", t0))
	}
	if n := len(r.d.entries); n > maxCopyKeys {
		t.Errorf("%d keys remembered, want at most %d", n, maxCopyKeys)
	}
	line := swarmLine("service", "update", "busy", "web", t0)
	for range 1000 {
		r.send(0, line) // the third host never sends a copy: it is a worker
	}
	if owed := len(r.d.entries[mustKey(t, r.d, line)].owed[2].times); owed > maxOwed {
		t.Errorf("a worker is owed %d copies of one key, want at most %d", owed, maxOwed)
	}
	r.now += copyLag + time.Second
	r.send(0, swarmLine("service", "create", "new", "web", t0))
	if n := len(r.d.entries); n != 1 {
		t.Errorf("%d keys remembered after copyLag, want 1", n)
	}
	list := 0
	for e := r.d.oldest; e != nil; e = e.next {
		list++
	}
	if list != len(r.d.entries) {
		t.Errorf("eviction list holds %d entries, map %d", list, len(r.d.entries))
	}
}

func mustKey(t *testing.T, d *SwarmDedupe, line []byte) uint64 {
	t.Helper()
	key, ok := swarmKey(d.seed, line)
	if !ok {
		t.Fatalf("no key for %s", line)
	}
	return key
}

// A worker promoted to manager is not taken to owe copies of what happened
// long before its first Swarm-scoped line.
func TestSwarmDedupeActivationDropsOldCredits(t *testing.T) {
	r := newDedupeRig(t, 2)
	line := swarmLine("node", "update", "n1", "mgr", t0)
	r.send(0, line) // host 1 is still a worker: it will never send this
	r.now += activationGrace + time.Second
	if !r.send(1, line) {
		t.Errorf("the promoted node's first line was taken for a copy of a change %v old", activationGrace+time.Second)
	}
}

// Followers of two daemons that share a deduper queue each Swarm change
// once, and every local event of each.
func TestFollowersShareASwarmDedupe(t *testing.T) {
	q := NewQueue(1024, 1<<20)
	dedupe := NewSwarmDedupe(2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var fds []*fakeDaemon
	for i := range 2 {
		fd := newFakeDaemon(t, 0, false)
		d, err := NewDaemon(DaemonConfig{Host: fd.host(), APIVersion: "1.41"})
		if err != nil {
			t.Fatal(err)
		}
		f := NewFollower(d, q, FollowOptions{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxEventSize: 1 << 20, Swarm: dedupe, SwarmMember: i}, func(string) {})
		sub, err := f.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fd.waitLive(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.Close()
			f.Run(ctx, sub)
		}()
		fds = append(fds, fd)
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	change := string(swarmLine("service", "update", "svc1", "web", t0))
	local := `{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{}},"scope":"local","time":1,"timeNano":1000000001}`
	end := `{"Type":"volume","Action":"create","Actor":{"ID":"end","Attributes":{}},"scope":"local","time":1,"timeNano":1000000002}`
	endKey, _, _ := strings.Cut(end, `,"time"`)
	for i, fd := range fds {
		fd.publish("service", change)
		fd.publish("volume", local)
		fd.publish("service", string(swarmLine("service", "remove", "svc1", "web", t0+int64(i))))
	}
	for _, fd := range fds {
		fd.publish("volume", end) // each stream is in order: after it, all is in
	}
	got := map[string]int{}
	for n := 0; got[endKey] < 2; n++ {
		select {
		case l := <-q.Lines():
			key, _, _ := strings.Cut(string(l.Data), `,"time"`)
			got[key]++
			q.Release(l)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d lines received, no end: %v", n, got)
		}
	}
	for key, n := range got {
		if want := map[bool]int{true: 2, false: 1}[strings.Contains(key, `"scope":"local"`)]; n != want {
			t.Errorf("%dx %s, want %d", n, key, want)
		}
	}
	if dedupe.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", dedupe.Dropped())
	}
}
