package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// collector reads a live instance on its own goroutine, as Falco's loop
// does, recording every delivered event with take and any next_batch error
// or EOF (a live source must never return either). startCollector's take
// keeps each event's JSON and origin; soakConsumer has its own.
type collector struct {
	inst *host.Instance
	// take records one delivered event, with mu held; the event's memory
	// is only valid until the next batch.
	take  func(*host.Event)
	calls chan func() // run on the reading goroutine between two batches
	mu    sync.Mutex
	cond  *sync.Cond
	got   []collected // what startCollector's take keeps
	bad   []string    // errors and unexpected return codes
	stop  chan struct{}
	done  chan struct{}
}

type collected struct {
	json, host, daemon string
	fields             map[string]string // by field name, when the collector extracts
}

func startCollector(t *testing.T, inst *host.Instance) *collector {
	return startExtractingCollector(t, nil, inst)
}

// startExtractingCollector is startCollector that also extracts the named
// string fields of every event, through the C ABI as Falco does, into
// collected.fields ("" for a field without a value).
func startExtractingCollector(t *testing.T, s *host.State, inst *host.Instance, names ...string) *collector {
	var extract func(*host.Event) map[string]string
	if len(names) > 0 {
		table := fields(t)
		extract = func(evt *host.Event) map[string]string {
			out := make(map[string]string, len(names))
			for _, name := range names {
				v, err := s.ExtractOne(evt, table[name].Field)
				switch {
				case err != nil:
					out[name] = "error: " + err.Error()
				case v.Present && len(v.Strings) > 0:
					out[name] = v.Strings[0]
				default:
					out[name] = ""
				}
			}
			return out
		}
	}
	c := &collector{inst: inst}
	c.take = func(evt *host.Event) {
		parts := strings.SplitN(string(evt.Data()), "\x00", 3)
		ev := collected{json: parts[0]}
		if len(parts) == 3 {
			ev.host, ev.daemon = parts[1], parts[2]
		}
		if extract != nil {
			ev.fields = extract(evt)
		}
		c.got = append(c.got, ev)
	}
	c.start(t)
	return c
}

// start starts the reading goroutine; it stops when the test ends.
func (c *collector) start(t *testing.T) {
	c.calls, c.stop, c.done = make(chan func()), make(chan struct{}), make(chan struct{})
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	t.Cleanup(c.halt)
}

func (c *collector) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case f := <-c.calls:
			f()
		default:
		}
		batch, rc, err := c.inst.NextBatch()
		c.mu.Lock()
		if err != nil || (rc != host.SSPluginSuccess && rc != host.SSPluginTimeout) {
			c.bad = append(c.bad, fmt.Sprintf("%s next_batch rc %d: %v", time.Now().Format(time.TimeOnly), rc, err))
		}
		for i := range batch {
			c.take(&batch[i])
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if rc == host.SSPluginEOF || rc == host.SSPluginFailure {
			return
		}
	}
}

// between runs f on the reading goroutine between two next_batch calls and
// returns when f has: no event is read meanwhile, as with a Falco busy
// elsewhere.
func (c *collector) between(f func()) {
	ran := make(chan struct{})
	c.calls <- func() { f(); close(ran) }
	<-ran
}

// halt stops the collector after its current next_batch call.
func (c *collector) halt() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

// await blocks until cond, called with mu held, holds or the deadline
// passes, and reports whether it held.
func (c *collector) await(deadline time.Duration, cond func() bool) bool {
	timer := time.AfterFunc(deadline, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	end := time.Now().Add(deadline)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		c.cond.Wait()
	}
	return true
}

// waitFor blocks until cond holds on the events collected so far, or fails
// the test after the deadline.
func (c *collector) waitFor(t *testing.T, deadline time.Duration, what string, cond func([]collected) bool) []collected {
	t.Helper()
	got, ok := c.within(deadline, cond)
	if !ok {
		t.Fatalf("%s: not seen within %v (%d events collected)", what, deadline, len(got))
	}
	return got
}

// within blocks until cond holds on the events collected so far, or the
// deadline passes; it returns a copy of those events and whether cond held.
func (c *collector) within(deadline time.Duration, cond func([]collected) bool) ([]collected, bool) {
	var got []collected
	ok := c.await(deadline, func() bool { got = c.got; return cond(got) })
	// got stays as cond saw it: appends to c.got never write below its length.
	return append([]collected(nil), got...), ok
}

func (c *collector) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bad...)
}

// hasActor reports whether events hold one of type typ, action action about actor.
func hasActor(events []collected, typ, action, actor string) bool {
	for _, e := range events {
		if strings.Contains(e.json, `"Type":"`+typ+`"`) && strings.Contains(e.json, `"Action":"`+action+`"`) && strings.Contains(e.json, `"ID":"`+actor+`"`) {
			return true
		}
	}
	return false
}

// metricsOf reads plugin_get_metrics into a map.
func metricsOf(s interface{ Metrics() []host.Metric }) map[string]uint64 {
	m := map[string]uint64{}
	for _, metric := range s.Metrics() {
		m[metric.Name] = metric.Value
	}
	return m
}
