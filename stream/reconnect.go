package stream

import (
	"context"
	"fmt"
	"time"
)

// localProbeInterval is how often a unix socket is probed while its daemon
// is away. A refused or missing socket answers a connect in microseconds,
// so probing this often costs nothing and bounds the time from the daemon
// accepting connections again to the plugin being subscribed to this
// interval plus one resume (a few round trips on the same host).
const localProbeInterval = 10 * time.Millisecond

// failureLogInterval bounds how often failed resumes are logged: a daemon
// that answers but refuses every resume must not flood Falco's log.
const failureLogInterval = time.Minute

// reconnect waits until the daemon accepts connections again and resumes.
// It tries at once, then probes the endpoint (see localProbeInterval; a
// remote one at MinBackoff doubling to MaxBackoff, since every probe is a
// round trip over the network) and resumes as soon as a probe connects. A
// resume that fails on an endpoint that accepts connections is counted,
// logged (rate-limited) and retried after MinBackoff doubling to MaxBackoff.
// It returns a subscription, or an error only once ctx is done.
func (f *Follower) reconnect(ctx context.Context) (*Subscription, error) {
	probeWait, retryWait := f.opts.MinBackoff, f.opts.MinBackoff
	if f.daemon.Local() {
		probeWait = localProbeInterval
	}
	for {
		if err := f.daemon.Probe(ctx); err != nil {
			if !sleep(ctx, probeWait) {
				return nil, ctx.Err()
			}
			if !f.daemon.Local() {
				probeWait = min(2*probeWait, f.opts.MaxBackoff)
			}
			continue
		}
		sub, err := f.resume(ctx)
		if err == nil {
			f.failures.recovered()
			return sub, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f.Stats.ResumeFailures.Add(1)
		if msg := f.failures.record(err, time.Now()); msg != "" {
			f.warn(msg)
		}
		if !sleep(ctx, retryWait) {
			return nil, ctx.Err()
		}
		retryWait = min(2*retryWait, f.opts.MaxBackoff)
	}
}

// sleep waits d, or less if ctx ends first; it reports whether ctx is live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// failureLog rate-limits the messages about failed resumes: the first of a
// series is logged, then at most one per failureLogInterval, saying how many
// were not. The host's clock only paces the messages.
type failureLog struct {
	last       time.Time // when a message was last returned; zero: none in this series
	suppressed int
}

// record returns the message to log for err, or "" to stay quiet.
func (l *failureLog) record(err error, now time.Time) string {
	if !l.last.IsZero() && now.Sub(l.last) < failureLogInterval {
		l.suppressed++
		return ""
	}
	msg := fmt.Sprintf("resume failed, retrying: %v", err)
	if l.suppressed > 0 {
		msg += fmt.Sprintf(" (%d more failures not logged)", l.suppressed)
	}
	l.last, l.suppressed = now, 0
	return msg
}

// recovered ends a series of failures.
func (l *failureLog) recovered() { *l = failureLog{} }
