package stream

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// FollowStats are one daemon's counters, updated by its Follower.
type FollowStats struct {
	Reconnects atomic.Uint64 // subscriptions made again after the stream ended
	ResumeGaps atomic.Uint64 // resumes whose gap the daemon's ring may not have covered
	Duplicates atomic.Uint64 // replayed events dropped because they were already queued
	TooLarge   atomic.Uint64 // events above maxEventSize, skipped
	Connected  atomic.Bool   // a subscription is open now
}

// FollowOptions tune how a Follower resumes.
type FollowOptions struct {
	Filters      string        // the daemon's filters argument (JSON), "" for none
	MinBackoff   time.Duration // first wait before reconnecting
	MaxBackoff   time.Duration // cap of the doubling wait
	ResumeWindow time.Duration // how far before the newest event a resume starts
	MaxEventSize int
}

// daemonRingSize is how many past events a daemon keeps for since= replays.
const daemonRingSize = 256

// recentSize bounds the keys remembered for de-duplication: well above the
// daemon's ring, which is all a resume can replay.
const recentSize = 4 * daemonRingSize

// Follower keeps one daemon's events flowing into a queue across daemon
// restarts, network cuts and EOFs: it reconnects with capped exponential
// backoff and resumes with since= just before the newest event it queued,
// dropping the replayed events it already queued, so that nothing is lost
// within the daemon's ring and nothing is duplicated. It never gives up:
// only ctx ends it.
type Follower struct {
	daemon *Daemon
	queue  *Queue
	opts   FollowOptions
	warn   func(string)
	Stats  FollowStats

	origin atomic.Pointer[Origin] // tags every queued line; renewed on connect
	newest int64                  // greatest timeNano queued
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

// connect pings the daemon and learns its name, which tags its events.
func (f *Follower) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := f.daemon.Ping(ctx); err != nil {
		return err
	}
	name, err := f.daemon.Name(ctx)
	if err != nil {
		return err
	}
	if old := f.origin.Load(); old.Name != name {
		f.origin.Store(&Origin{Host: f.daemon.Host(), Name: name})
	}
	return nil
}

// Subscribe makes the first subscription, from now on. plugin_open calls it
// so that a daemon that is not there fails the open with a clear error.
func (f *Follower) Subscribe(ctx context.Context) (*Subscription, error) {
	if err := f.connect(ctx); err != nil {
		return nil, err
	}
	return f.daemon.Subscribe(ctx, StreamOptions{Filters: f.opts.Filters})
}

// Run pumps first, then every later subscription, until ctx is done.
func (f *Follower) Run(ctx context.Context, first *Subscription) {
	sub := first
	backoff := f.opts.MinBackoff
	for {
		if sub != nil {
			f.Stats.Connected.Store(true)
			err := sub.Pump(f.offer, f.opts.MaxEventSize, f.countTooLarge)
			f.Stats.Connected.Store(false)
			if ctx.Err() != nil {
				return
			}
			f.warn(fmt.Sprintf("%v; reconnecting", err))
			backoff = f.opts.MinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		var err error
		sub, err = f.resume(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(2*backoff, f.opts.MaxBackoff)
			continue
		}
	}
}

// resume subscribes again. With events already queued, it first replays the
// daemon's ring from just before the newest of them up to now (a finite
// request), so that it can tell whether the ring covered the gap, then
// follows live from that point on.
func (f *Follower) resume(ctx context.Context) (*Subscription, error) {
	if f.newest == 0 {
		sub, err := f.Subscribe(ctx)
		if err == nil {
			f.Stats.Reconnects.Add(1)
		}
		return sub, err
	}
	since := time.Unix(0, f.newest).Add(-f.opts.ResumeWindow)
	until := time.Now()
	if err := f.connect(ctx); err != nil {
		return nil, err
	}
	replay, err := f.daemon.Subscribe(ctx, StreamOptions{Since: since, Until: until, Filters: f.opts.Filters})
	if err != nil {
		return nil, err
	}
	// Counted before the replay flows, so that whoever sees a replayed event
	// also sees the reconnect.
	f.Stats.Reconnects.Add(1)
	var replayed int
	err = replay.Pump(func(line []byte) bool {
		replayed++
		return f.offer(line)
	}, f.opts.MaxEventSize, f.countTooLarge)
	if err != nil && !errors.Is(err, errStreamClosed) {
		return nil, err
	}
	if replayed >= daemonRingSize {
		f.Stats.ResumeGaps.Add(1)
		f.warn(fmt.Sprintf("docker daemon at %s: the %d events replayed on resume fill the daemon's ring: events older than those may have been lost while disconnected", f.daemon.Host(), replayed))
	}
	return f.daemon.Subscribe(ctx, StreamOptions{Since: until, Filters: f.opts.Filters})
}

func (f *Follower) countTooLarge() { f.Stats.TooLarge.Add(1) }

// offer queues line unless it is a replay of an event already queued.
// It reports whether the line is new.
func (f *Follower) offer(line []byte) bool {
	key := eventKey{timeNano: TimeNano(line), hash: maphash.Bytes(f.seed, line)}
	if _, dup := f.recent[key]; dup {
		f.Stats.Duplicates.Add(1)
		return false
	}
	if !f.queue.Offer(line, f.origin.Load()) {
		return true // new, but the queue overflowed: counted there
	}
	if old := f.order[f.next]; old != (eventKey{}) {
		delete(f.recent, old)
	}
	f.order[f.next] = key
	f.next = (f.next + 1) % recentSize
	f.recent[key] = struct{}{}
	f.newest = max(f.newest, key.timeNano)
	return true
}
