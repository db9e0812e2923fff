package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// volumeWorkload creates and removes volumes through a daemon's API on its
// unix socket, at a steady pace, from several workers, for as long as it
// runs, and records what each call did: every call that succeeded is an
// event the daemon published (a volume create or destroy), every call that
// could not reach the daemon (refused while it restarts) is retried and
// produced nothing, and every call whose outcome is unknown (sent, then the
// daemon died before answering) may or may not have produced its event.
type volumeWorkload struct {
	api    *http.Client
	prefix string

	mu       sync.Mutex
	progress *sync.Cond
	ops      map[string]*volumeOps // by volume name
	order    []string              // volume names, in the order created
	events   int                   // events certainly caused so far
	failures []string              // answers no volume call should get
}

// volumeOps is what the workload did to one volume.
type volumeOps struct {
	create, destroy opOutcome
}

// opOutcome is the fate of one call (create or remove), retries included.
type opOutcome struct {
	state      opState
	start, end time.Time // the attempt that settled it, on the host's clock
}

type opState int

const (
	notDone   opState = iota // never made (or never reached the daemon)
	succeeded                // the daemon answered success: its event exists
	uncertain                // the event may or may not exist
)

// newVolumeWorkload prepares a workload on the daemon at socket; names start
// with prefix.
func newVolumeWorkload(socket, prefix string) *volumeWorkload {
	w := &volumeWorkload{
		api: &http.Client{
			// Long enough for a daemon that is busy starting; a call still
			// pending when the daemon dies fails at once.
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				// One connection per call, so that a call the daemon never
				// saw fails in the dial, and only there.
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var dialer net.Dialer
					return dialer.DialContext(ctx, "unix", socket)
				},
			},
		},
		prefix: prefix,
		ops:    map[string]*volumeOps{},
	}
	w.progress = sync.NewCond(&w.mu)
	return w
}

// run paces pairs per second create+remove pairs over workers goroutines
// until ctx ends, then lets each finish the pair it started, unless abort
// ends too (a failed test), which stops the retries at once.
func (w *volumeWorkload) run(ctx, abort context.Context, workers int, pairs float64) {
	tokens := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for seq := range tokens {
				w.pair(abort, fmt.Sprintf("%s%06d", w.prefix, seq))
			}
		})
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / pairs))
	defer tick.Stop()
	for seq := 0; ; {
		select {
		case <-ctx.Done():
			close(tokens)
			wg.Wait()
			return
		case <-tick.C:
			// Load generation, not synchronisation: a tick no worker is
			// free for (all of them wait for a restarting daemon) is
			// dropped rather than turned into a burst later.
			select {
			case tokens <- seq:
				seq++
			default:
			}
		}
	}
}

// retryPause paces the retries of a call the daemon could not take.
const retryPause = 20 * time.Millisecond

// pair creates a volume and, if that certainly worked, removes it.
func (w *volumeWorkload) pair(abort context.Context, name string) {
	ops := &volumeOps{}
	w.mu.Lock()
	w.ops[name] = ops
	w.order = append(w.order, name)
	w.mu.Unlock()

	body := fmt.Sprintf(`{"Name":%q}`, name)
	for {
		start := time.Now()
		status, err := w.call(http.MethodPost, "/volumes/create", body)
		if refused(err) {
			if !pause(abort) {
				return
			}
			continue
		}
		w.settle(&ops.create, start, status == http.StatusCreated && err == nil)
		if ops.create.state != succeeded {
			// Abandoned: creating it again would make the daemon publish a
			// second create for a volume that may already exist.
			return
		}
		break
	}
	removeSent := false // a remove reached the daemon without an answer
	for {
		start := time.Now()
		status, err := w.call(http.MethodDelete, "/volumes/"+name, "")
		switch {
		case refused(err):
		case err != nil || (status != http.StatusNoContent && status != http.StatusNotFound):
			removeSent = true
		case status == http.StatusNoContent:
			// Removed by this call: any earlier one did not remove it.
			w.settle(&ops.destroy, start, true)
			return
		case removeSent: // 404 after a remove with no answer: that one did it
			w.settle(&ops.destroy, start, false)
			return
		default:
			w.mu.Lock()
			w.failures = append(w.failures, fmt.Sprintf("DELETE /volumes/%s: 404 for a volume created and never removed", name))
			w.mu.Unlock()
			return
		}
		if !pause(abort) {
			return
		}
	}
}

// pause waits retryPause before a retry; it reports false once abort ends.
func pause(abort context.Context) bool {
	t := time.NewTimer(retryPause)
	defer t.Stop()
	select {
	case <-abort.Done():
		return false
	case <-t.C:
		return true
	}
}

// settle records an outcome and wakes whoever waits for progress.
func (w *volumeWorkload) settle(o *opOutcome, start time.Time, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o.start, o.end, o.state = start, time.Now(), uncertain
	if ok {
		o.state = succeeded
		w.events++
		w.progress.Broadcast()
	}
}

// call makes one API call and returns its status.
func (w *volumeWorkload) call(method, path, body string) (int, error) {
	req, err := http.NewRequest(method, "http://docker"+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.api.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// refused reports whether err shows that the call never reached a daemon:
// the connection itself failed (socket missing or refused while the daemon
// restarts).
func refused(err error) bool {
	var urlErr *url.Error
	var opErr *net.OpError
	return errors.As(err, &urlErr) && errors.As(err, &opErr) && opErr.Op == "dial"
}

// waitEvents blocks until the workload has caused n more events (certainly)
// than when it was called, or the deadline passes.
func (w *volumeWorkload) waitEvents(n int, deadline time.Duration) error {
	timer := time.AfterFunc(deadline, func() {
		w.mu.Lock()
		w.progress.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	end := time.Now().Add(deadline)
	w.mu.Lock()
	defer w.mu.Unlock()
	for target := w.events + n; w.events < target; w.progress.Wait() {
		if time.Now().After(end) {
			return fmt.Errorf("the workload caused %d of %d events within %v", w.events-(target-n), n, deadline)
		}
	}
	return nil
}

// snapshot returns the volumes in creation order with what was done to
// them; call it once the workload has stopped.
func (w *volumeWorkload) snapshot() ([]string, map[string]volumeOps, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]volumeOps, len(w.ops))
	for name, o := range w.ops {
		out[name] = *o
	}
	return append([]string(nil), w.order...), out, append([]string(nil), w.failures...)
}
