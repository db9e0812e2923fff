package stream

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// SwarmDedupe delivers each Swarm-scoped event once across the daemons of one
// instance. Every manager of a Swarm publishes every cluster event (node,
// service, secret, config, swarm network: "scope":"swarm") from its own copy
// of the cluster store, so with several managers in hosts each change would
// reach Falco once per manager.
//
// The managers' lines for one change are identical but for time and
// timeNano: moby stamps create and update events with the object's own
// CreatedAt/UpdatedAt, the same everywhere, and remove events with the
// publishing daemon's time.Now() (daemon/events.go, eventTimestamp). So a
// line's key is the hash of the line cut before its time members.
//
// Two genuine changes can have the same key (a service updated twice to the
// same state), so occurrences are matched by count, not merged by key: when
// a manager delivers an occurrence, every other manager is owed one copy of
// it (a credit); a manager's line that finds a credit is that copy and is
// dropped, any other is delivered. The k-th line of a key from manager B is
// thus dropped only if another manager delivered a k-th one. A credit
// expires after copyLag: a copy later than that is delivered again rather
// than risk dropping a genuine change.
//
// Credits that will never be redeemed would make a later genuine change be
// taken for a copy, so they are dropped where that is known: when a
// member's stream had a gap (Forget), and, when a member sends its first
// Swarm-scoped line (a worker promoted to manager: workers send none), the
// credits it collected before activationGrace. A line whose queue
// overflowed leaves a debit, so that another manager's copy of it is
// delivered in its place and does not leave a credit behind.
type SwarmDedupe struct {
	seed    maphash.Seed
	clock   func() int64 // monotonic nanoseconds
	dropped atomic.Uint64

	mu      sync.Mutex
	active  []bool // members that have sent a Swarm-scoped line: managers
	entries map[uint64]*copyEntry
	oldest  *copyEntry // least recently touched; evicted first
	newest  *copyEntry
}

const (
	// copyLag bounds how late a manager's copy may arrive and still be
	// matched: managers apply the cluster store within milliseconds of each
	// other, and a stream that resumes replays what it missed within a
	// reconnect, well under a minute unless the outage is long.
	copyLag = 5 * time.Minute
	// maxCopyKeys bounds the keys remembered: Swarm changes are rare (a
	// rolling update makes a few per task), so 1024 keys cover far more
	// than copyLag of them; the least recently seen key goes first.
	maxCopyKeys = 1024
	// activationGrace is how old a credit may be when its member turns out
	// to be a manager and still be taken for a copy on its way.
	activationGrace = 10 * time.Second
	// maxOwed bounds the credits or debits one member holds for one key.
	maxOwed = 16
)

// copyEntry is what is owed for one key, per member.
type copyEntry struct {
	key        uint64
	touched    int64
	owed       []ledger // by member
	prev, next *copyEntry
}

// ledger is what one member owes for one key: copies it is expected to send
// (credits), or lines it sent that no one delivered (debits), with the time
// each was recorded, oldest first.
type ledger struct {
	credits bool
	times   []int64
}

// NewSwarmDedupe returns a deduper for members daemons, numbered from 0.
func NewSwarmDedupe(members int) *SwarmDedupe {
	start := time.Now()
	return &SwarmDedupe{
		seed:    maphash.MakeSeed(),
		clock:   func() int64 { return int64(time.Since(start)) },
		active:  make([]bool, members),
		entries: make(map[uint64]*copyEntry),
	}
}

// Dropped is the number of lines dropped as another manager's copy.
func (d *SwarmDedupe) Dropped() uint64 { return d.dropped.Load() }

// Offer queues line from member into q unless it is the copy of a line
// another member already queued. It returns false only when q overflowed,
// as q.Offer does; a copy dropped counts as handled. Lines that are not
// Swarm-scoped go straight to q.
func (d *SwarmDedupe) Offer(q *Queue, member int, line []byte, timeNano int64, origin *Origin) bool {
	key, ok := swarmKey(d.seed, line)
	if !ok {
		return q.Offer(line, timeNano, origin)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock()
	if !d.active[member] {
		d.active[member] = true
		d.dropCredits(member, now-int64(activationGrace))
	}
	e := d.touch(key, now)
	own := &e.owed[member]
	own.expire(now)
	if own.credits && len(own.times) > 0 {
		own.pop()
		d.dropped.Add(1)
		return true
	}
	// Queue.Offer never blocks, so holding mu across it is cheap, and no
	// other member's copy can slip in between the check and the queueing.
	if !q.Offer(line, timeNano, origin) {
		own.push(false, now)
		return false
	}
	for m := range e.owed {
		if m == member {
			continue
		}
		other := &e.owed[m]
		other.expire(now)
		if !other.credits && len(other.times) > 0 {
			other.pop() // m sent this occurrence and lost it: this was its copy
		} else {
			other.push(true, now)
		}
	}
	return true
}

// Forget drops the credits member holds: its stream had a gap, and the
// copies it was owed until now may never come.
func (d *SwarmDedupe) Forget(member int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropCredits(member, d.clock()+1)
}

// dropCredits drops member's credits recorded before the time before.
func (d *SwarmDedupe) dropCredits(member int, before int64) {
	for _, e := range d.entries {
		l := &e.owed[member]
		if !l.credits {
			continue
		}
		n := 0
		for n < len(l.times) && l.times[n] < before {
			n++
		}
		l.times = append(l.times[:0], l.times[n:]...)
	}
}

// touch returns key's entry, created if need be, as the most recently
// touched, after evicting the entries untouched for copyLag (all they hold
// has expired) and the oldest beyond maxCopyKeys.
func (d *SwarmDedupe) touch(key uint64, now int64) *copyEntry {
	e := d.entries[key]
	if e != nil {
		d.unlink(e)
	}
	for d.oldest != nil && (now-d.oldest.touched > int64(copyLag) || len(d.entries) >= maxCopyKeys && e == nil) {
		old := d.oldest
		d.unlink(old)
		delete(d.entries, old.key)
	}
	if e == nil {
		e = &copyEntry{key: key, owed: make([]ledger, len(d.active))}
		d.entries[key] = e
	}
	e.touched = now
	e.prev, e.next = d.newest, nil
	if d.newest != nil {
		d.newest.next = e
	} else {
		d.oldest = e
	}
	d.newest = e
	return e
}

func (d *SwarmDedupe) unlink(e *copyEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		d.oldest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		d.newest = e.prev
	}
	e.prev, e.next = nil, nil
}

// expire drops what was recorded more than copyLag before now.
func (l *ledger) expire(now int64) {
	n := 0
	for n < len(l.times) && now-l.times[n] > int64(copyLag) {
		n++
	}
	l.times = append(l.times[:0], l.times[n:]...)
}

func (l *ledger) pop() { l.times = append(l.times[:0], l.times[1:]...) }

// push records a credit or a debit; l holds none of the other kind.
func (l *ledger) push(credit bool, now int64) {
	if len(l.times) == 0 {
		l.credits = credit
	}
	if len(l.times) == maxOwed {
		l.pop()
	}
	l.times = append(l.times, now)
}

var (
	swarmScope  = []byte(`,"scope":"swarm"`)
	swarmTime   = []byte(`,"time":`)
	swarmNano   = []byte(`,"timeNano":`)
	swarmSuffix = []byte(`,"scope":"swarm","time":`)
)

// swarmTail is how far from the end of a line its scope member can start:
// `,"scope":"swarm","time":` and two integers of up to 19 digits, and "}".
const swarmTail = len(`,"scope":"swarm","time":,"timeNano":}`) + 2*19

// swarmKey reports whether line is Swarm-scoped and hashes it without its
// time members. The daemon writes scope, time and timeNano as the last
// members, in that order (see docker-events in the design notes); only that
// tail is looked at, so that the line is never decoded and a label or an
// attribute can never pass for the scope. A line of any other shape is not
// deduplicated.
func swarmKey(seed maphash.Seed, line []byte) (uint64, bool) {
	tail := line[max(0, len(line)-swarmTail):]
	i := bytes.LastIndex(tail, swarmSuffix)
	if i < 0 {
		return 0, false
	}
	rest := tail[i+len(swarmScope):]
	rest, ok := skipMember(rest, swarmTime)
	if !ok {
		return 0, false
	}
	if rest, ok = skipMember(rest, swarmNano); !ok || string(rest) != "}" {
		return 0, false
	}
	cut := len(line) - len(tail) + i + len(swarmScope)
	return maphash.Bytes(seed, line[:cut]), true
}

// skipMember skips name and the integer that follows it.
func skipMember(b, name []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, name) {
		return nil, false
	}
	b = b[len(name):]
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return b[n:], n > 0
}
