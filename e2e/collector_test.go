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
// does, keeping each event's JSON and origin, and recording any next_batch
// error or EOF (a live source must never return either).
type collector struct {
	inst *host.Instance
	// extract, when set, extracts string fields of each event on delivery
	// (its memory is only valid until the next batch).
	extract func(*host.Event) map[string]string
	mu      sync.Mutex
	got     []collected
	bad     []string // errors and unexpected return codes
	cond    *sync.Cond
	stop    chan struct{}
	done    chan struct{}
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
	c := &collector{inst: inst, stop: make(chan struct{}), done: make(chan struct{})}
	if len(names) > 0 {
		table := fields(t)
		c.extract = func(evt *host.Event) map[string]string {
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
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	t.Cleanup(c.halt)
	return c
}

func (c *collector) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		batch, rc, err := c.inst.NextBatch()
		c.mu.Lock()
		if err != nil || (rc != host.SSPluginSuccess && rc != host.SSPluginTimeout) {
			c.bad = append(c.bad, fmt.Sprintf("%s next_batch rc %d: %v", time.Now().Format(time.TimeOnly), rc, err))
		}
		for i := range batch {
			parts := strings.SplitN(string(batch[i].Data()), "\x00", 3)
			ev := collected{json: parts[0]}
			if len(parts) == 3 {
				ev.host, ev.daemon = parts[1], parts[2]
			}
			if c.extract != nil {
				ev.fields = c.extract(&batch[i])
			}
			c.got = append(c.got, ev)
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if rc == host.SSPluginEOF || rc == host.SSPluginFailure {
			return
		}
	}
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
	timer := time.AfterFunc(deadline, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	end := time.Now().Add(deadline)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond(c.got) {
		if time.Now().After(end) {
			return append([]collected(nil), c.got...), false
		}
		c.cond.Wait()
	}
	return append([]collected(nil), c.got...), true
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
