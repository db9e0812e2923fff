package stream

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// FollowStats are one daemon's counters, updated by its Follower.
type FollowStats struct {
	Reconnects     atomic.Uint64 // subscriptions made again after the stream ended
	ResumeGaps     atomic.Uint64 // resumes that could not prove that no event was missed
	ResumeFailures atomic.Uint64 // attempts that reached the endpoint but could not subscribe again
	Duplicates     atomic.Uint64 // replayed events dropped because they were already queued
	TooLarge       atomic.Uint64 // events above maxEventSize, skipped
	Connected      atomic.Bool   // a subscription is open now
}

// FollowOptions tune how a Follower reconnects and resumes.
type FollowOptions struct {
	Filters string // the daemon's filters argument (JSON), "" for none
	// MinBackoff and MaxBackoff bound the doubling wait between probes of a
	// remote (tcp) endpoint that is away, and between resumes that failed on
	// an endpoint that accepts connections. A unix socket is probed every
	// localProbeInterval instead.
	MinBackoff   time.Duration
	MaxBackoff   time.Duration
	ResumeWindow time.Duration // how far before the last event a resume replays from
	MaxEventSize int
	// Swarm, shared by the followers of one instance, drops the copies of
	// Swarm-scoped events that other managers already delivered; nil (one
	// daemon, or swarmDedupe off) queues every line.
	Swarm       *SwarmDedupe
	SwarmMember int // this daemon's number in Swarm
}

// daemonRingSize is how many past events a daemon keeps for since= replays
// (moby daemon/events/events.go: eventsLimit).
const daemonRingSize = 256

// recentSize bounds the keys remembered for de-duplication: well above the
// daemon's ring, which is all a resume can replay.
const recentSize = 4 * daemonRingSize

// Follower keeps one daemon's events flowing into a queue across daemon
// restarts, network cuts and EOFs. When a stream ends it probes the endpoint
// until it accepts connections again (see reconnect), then resumes on the
// daemon's own clock from the last event it received (see resume), drops
// what the daemon replays twice, and counts every resume whose replay
// cannot prove that nothing was missed. It never gives up: only ctx ends it.
type Follower struct {
	daemon *Daemon
	queue  *Queue
	opts   FollowOptions
	warn   func(string)
	Stats  FollowStats

	origin atomic.Pointer[Origin] // tags every queued line; renewed on connect

	// Owned by whoever subscribes: Subscribe, then Run's goroutine.
	subscribed bool         // a subscription was made once
	point      resumePoint  // where a resume takes the stream up again
	check      *prefixCheck // verification of a resumed live stream, until settled
	failures   failureLog

	seed   maphash.Seed
	recent map[eventKey]struct{}
	order  [recentSize]eventKey // ring of recent keys, oldest evicted first
	next   int
}

// eventKey identifies an event: the daemon replays an event byte for byte,
// so its time and the hash of its line tell a replay from a new event
// without decoding it.
type eventKey struct {
	timeNano int64
	hash     uint64
}

// NewFollower prepares a Follower; Run starts it.
func NewFollower(d *Daemon, q *Queue, opts FollowOptions, warn func(string)) *Follower {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	f := &Follower{daemon: d, queue: q, opts: opts, warn: warn, seed: maphash.MakeSeed(), recent: make(map[eventKey]struct{}, recentSize)}
	f.origin.Store(&Origin{Host: d.Host()})
	return f
}

// connect pings the daemon, learns its name, which tags its events, and
// reads its clock.
func (f *Follower) connect(ctx context.Context) (time.Time, error) {
	if err := f.daemon.Ping(ctx); err != nil {
		return time.Time{}, err
	}
	name, now, err := f.daemon.Identify(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if old := f.origin.Load(); old.Name != name {
		f.origin.Store(&Origin{Host: f.daemon.Host(), Name: name})
	}
	return now, nil
}

// Subscribe makes the first subscription, from now on. plugin_open calls it
// so that a daemon that is not there fails the open with a clear error.
func (f *Follower) Subscribe(ctx context.Context) (*Subscription, error) {
	now, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	return f.subscribeFrom(ctx, now)
}

// subscribeFrom follows live from the daemon time now. since=now makes the
// daemon replay what its ring holds from then on: moby's /events handler
// (api/server/router/system/system_routes.go, getEvents) answers with its
// headers before it subscribes (SubscribeToEvents), and what happens in
// between would otherwise be lost.
func (f *Follower) subscribeFrom(ctx context.Context, now time.Time) (*Subscription, error) {
	sub, err := f.daemon.Subscribe(ctx, StreamOptions{Since: now, Filters: f.opts.Filters})
	if err != nil {
		return nil, err
	}
	f.subscribed = true
	f.point = resumePoint{nano: now.UnixNano()}
	return sub, nil
}

// Run pumps first, then every later subscription, until ctx is done: Pump
// (daemon.go) reads the daemon's socket and hands each line to receive,
// which queues it (queue.go).
func (f *Follower) Run(ctx context.Context, first *Subscription) {
	sub := first
	for {
		if sub != nil {
			f.Stats.Connected.Store(true)
			err := sub.Pump(f.receive, f.opts.MaxEventSize, f.countTooLarge)
			f.Stats.Connected.Store(false)
			if ctx.Err() != nil {
				return
			}
			f.warn(fmt.Sprintf("%v; reconnecting", err))
		}
		var err error
		if sub, err = f.reconnect(ctx); err != nil {
			return // ctx done
		}
	}
}

func (f *Follower) countTooLarge() { f.Stats.TooLarge.Add(1) }

// keyOf keys line by its time and hash. The time is parsed here, once per
// line: the queue carries it on to the batch as the event's timestamp.
func (f *Follower) keyOf(line []byte) eventKey {
	return eventKey{timeNano: TimeNano(line), hash: maphash.Bytes(f.seed, line)}
}

// receive takes one line of a live subscription: unless the replay before
// it settled the line already, it becomes the resume point and is queued
// unless already seen.
func (f *Follower) receive(line []byte) bool {
	key := f.keyOf(line)
	if f.check != nil && f.settlePrefix(key) {
		if f.seen(key) {
			f.Stats.Duplicates.Add(1)
		}
		return false
	}
	f.point = resumePoint{key: key, nano: key.timeNano, keyed: true}
	return f.deliver(line, key)
}

// offer queues line with its time, through the Swarm deduper when there is
// one (swarmdedupe.go): a copy it drops counts as queued. The consumer takes
// the line from the queue in instance.go's NextBatch.
func (f *Follower) offer(line []byte, timeNano int64) bool {
	if f.opts.Swarm != nil {
		return f.opts.Swarm.Offer(f.queue, f.opts.SwarmMember, line, timeNano, f.origin.Load())
	}
	return f.queue.Offer(line, timeNano, f.origin.Load())
}

// forgetSwarmCopies tells the Swarm deduper that this daemon's stream had a
// gap: the copies it was owed until now may never come.
func (f *Follower) forgetSwarmCopies() {
	if f.opts.Swarm != nil {
		f.opts.Swarm.Forget(f.opts.SwarmMember)
	}
}

// seen reports whether key was queued recently.
func (f *Follower) seen(key eventKey) bool {
	_, ok := f.recent[key]
	return ok
}

// deliver queues line unless it is a replay of an event already queued.
// It reports whether the line is new.
func (f *Follower) deliver(line []byte, key eventKey) bool {
	if f.seen(key) {
		f.Stats.Duplicates.Add(1)
		return false
	}
	if !f.offer(line, key.timeNano) {
		return true // new, but the queue overflowed: counted there
	}
	if old := f.order[f.next]; old != (eventKey{}) {
		delete(f.recent, old)
	}
	f.order[f.next] = key
	f.next = (f.next + 1) % recentSize
	f.recent[key] = struct{}{}
	return true
}
