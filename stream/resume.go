package stream

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A resume is computed on the daemon's clock only: the daemon stamps its
// events (timeNano) and compares since/until on its own clock, which may be
// seconds away from ours. What moby does with since/until (daemon/events/
// events.go, loadBufferedEvents and SubscribeTopic; the /events handler in
// api/server/router/system/system_routes.go, getEvents):
//   - it keeps its last 256 events in a ring, in publication order, and
//     replays from it the contiguous run of newest events back to the first
//     one older than since (since and until are inclusive);
//   - filters are applied to that replay, after the ring: filtered-out events
//     still take room in it;
//   - an until in the past ends the response after the replay; until before
//     since is refused (400);
//   - a restart empties the ring.
// So a replay holds everything the daemon published after an event E exactly
// when it holds E itself. The Follower remembers the last line it received
// (the resume point) and proves each resume with it.

// resumePoint is where a resume takes the stream up again: the last line
// received from the daemon (keyed), or, before any line, the daemon time at
// which the subscription began.
type resumePoint struct {
	key   eventKey
	nano  int64 // key.timeNano, or the daemon time
	keyed bool
}

// prefixCheck verifies the live subscription that follows a replay: the
// daemon replays again, first, what its ring holds from since on, which must
// reach back to anchor (the replay's last line). Lines before it are lines of
// the replay; a line that is neither, seen before anchor, means the ring lost
// anchor between the two requests.
type prefixCheck struct {
	anchor eventKey
	before map[eventKey]struct{}
}

// resume subscribes again. The first subscription ever is simply made from
// the daemon's now. Later ones first replay the daemon's ring from the resume
// point up to the daemon's now (a finite request: until is in the past when
// it arrives), which tells whether the ring still covered what was missed,
// then follow live from the replay's end.
func (f *Follower) resume(ctx context.Context) (*Subscription, error) {
	now, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	if !f.subscribed {
		sub, err := f.subscribeFrom(ctx, now)
		if err == nil {
			f.Stats.Reconnects.Add(1)
		}
		return sub, err
	}
	if now.IsZero() {
		return nil, fmt.Errorf("docker daemon at %s: GET /info reports no SystemTime: cannot resume on the daemon's clock", f.daemon.Host())
	}
	since := f.replaySince()
	if now.Before(since) {
		// The daemon's clock is now before the resume point (it went back,
		// or another daemon answers): the replay cannot hold the point.
		since = now
	}
	lines, err := f.replay(ctx, since, now)
	if err != nil {
		return nil, err
	}
	// Counted before the replay flows, so that whoever sees a replayed event
	// also sees the reconnect.
	f.Stats.Reconnects.Add(1)
	keys := f.settleReplay(lines, now)

	// After an empty replay the live stream starts where the replay did,
	// not at now: the daemon stamps an event before it appends it to its
	// ring (moby daemon/events/events.go: Log, then PublishMessage), so an
	// event stamped before now may reach the ring after the replay read it
	// and still be published before the live subscription: since=now would
	// leave it out of both. Whatever the live stream replays is newer than
	// the empty replay, so all of it is delivered.
	liveSince := since
	f.check = nil
	if len(lines) > 0 {
		liveSince = time.Unix(0, f.point.nano).Add(-f.opts.ResumeWindow)
		before := make(map[eventKey]struct{}, len(keys))
		for _, key := range keys {
			before[key] = struct{}{}
		}
		f.check = &prefixCheck{anchor: f.point.key, before: before}
	} else {
		f.point = resumePoint{nano: now.UnixNano()}
	}
	sub, err := f.daemon.Subscribe(ctx, StreamOptions{Since: liveSince, Filters: f.opts.Filters})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// replaySince is where the replay starts: ResumeWindow before the last line
// received (timeNano is not strictly monotonic: Swarm events carry their
// object's time), or, before any line, the oldest event of the ring, whose
// events before the subscription began prove that it covers the outage.
func (f *Follower) replaySince() time.Time {
	if f.point.keyed {
		return time.Unix(0, f.point.nano).Add(-f.opts.ResumeWindow)
	}
	return time.Unix(0, 1) // not the zero time, which means "no since"
}

// replay reads the daemon's ring between since and until, copying the
// lines: they are settled once the whole replay is known.
func (f *Follower) replay(ctx context.Context, since, until time.Time) ([][]byte, error) {
	sub, err := f.daemon.Subscribe(ctx, StreamOptions{Since: since, Until: until, Filters: f.opts.Filters})
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	err = sub.Pump(func(line []byte) bool {
		lines = append(lines, append([]byte(nil), line...))
		return true
	}, f.opts.MaxEventSize, f.countTooLarge)
	if !errors.Is(err, errStreamClosed) {
		return nil, err
	}
	return lines, nil
}

// settleReplay delivers the replayed lines that follow the resume point and
// counts a gap when the replay cannot prove that it covers the outage: it
// lacks the last line received, or, before any line, an event from before
// the subscription began. The resume point moves to the replay's last line.
// It returns the lines' keys.
func (f *Follower) settleReplay(lines [][]byte, until time.Time) []eventKey {
	keys := make([]eventKey, len(lines))
	for i, line := range lines {
		keys[i] = f.keyOf(line)
	}
	from := 0 // first line to deliver
	proven := false
	if f.point.keyed {
		for i := len(keys) - 1; i >= 0; i-- {
			if keys[i] == f.point.key {
				from, proven = i+1, true
				break
			}
		}
	} else {
		// Lines before the subscription began are not delivered: they
		// precede the plugin's start (or a point already covered).
		for from < len(keys) && keys[from].timeNano < f.point.nano {
			from, proven = from+1, true
		}
	}
	for i := range from {
		if f.seen(keys[i]) {
			f.Stats.Duplicates.Add(1)
		}
	}
	if !proven {
		to := until.UnixNano()
		if from < len(keys) {
			to = keys[from].timeNano
		}
		f.gap(f.point.nano, to, "its replay no longer holds the last event received before the disconnect")
	}
	for i := from; i < len(lines); i++ {
		f.deliver(lines[i], keys[i])
	}
	if !proven {
		f.forgetSwarmCopies() // after the replay, which may hold some
	}
	if n := len(keys); n > 0 {
		f.point = resumePoint{key: keys[n-1], nano: keys[n-1].timeNano, keyed: true}
	}
	return keys
}

// settlePrefix advances the check of a resumed live stream with its next
// line's key, and reports whether the replay settled that line already
// (delivered it, or left it out as older than the resume point).
func (f *Follower) settlePrefix(key eventKey) bool {
	c := f.check
	_, replayed := c.before[key]
	switch {
	case key == c.anchor:
		f.check = nil
	case !replayed:
		f.check = nil
		f.gap(c.anchor.timeNano, key.timeNano, "its ring lost the end of the replay before the live stream began")
		f.forgetSwarmCopies()
	}
	return replayed
}

// gap counts and logs a resume that cannot prove that no event was missed
// between the daemon times from and to.
func (f *Follower) gap(from, to int64, why string) {
	f.Stats.ResumeGaps.Add(1)
	name := f.origin.Load().Name
	f.warn(fmt.Sprintf("docker daemon at %s (%s): events between %s and %s (daemon clock) may have been lost: %s; it keeps its last %d events (filtered out ones included) and a restart empties it",
		f.daemon.Host(), name, formatNano(from), formatNano(to), why, daemonRingSize))
}

func formatNano(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}
