package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// soakConsumer reads a live instance as Falco's loop does, extracting
// docker.type, docker.action, docker.actor.id and docker.attributes.name of
// every event through plugin_extract_fields (one field per call, as
// libsinsp's filterchecks do), and keeps, per volume whose name has its
// prefix, the actions delivered in order. It can be told to stop calling
// next_batch for a while, as a stalled Falco would.
type soakConsumer struct {
	*collector
	s      *host.State
	prefix string
	x      map[string]*host.Extractor // one per field

	// With collector.mu held:
	total    int                          // events delivered, all kinds
	byVolume map[string][]deliveredAction // the prefix's volumes
	mismatch []string                     // events whose fields disagree
}

// deliveredAction is one delivered volume event.
type deliveredAction struct {
	action string
	seq    int // position among every delivered event
}

var soakFields = []string{"docker.type", "docker.action", "docker.actor.id", "docker.attributes.name"}

func startSoakConsumer(t *testing.T, s *host.State, inst *host.Instance, prefix string) *soakConsumer {
	table := fields(t)
	c := &soakConsumer{
		collector: &collector{inst: inst},
		s:         s,
		prefix:    prefix,
		x:         map[string]*host.Extractor{},
		byVolume:  map[string][]deliveredAction{},
	}
	for _, name := range soakFields {
		f, ok := table[name]
		if !ok {
			t.Fatalf("the plugin has no field %s", name)
		}
		c.x[name] = s.NewExtractor([]host.Field{f.Field})
	}
	c.take = c.record
	c.start(t)
	t.Cleanup(func() {
		c.halt() // the reading goroutine uses the extractors until then
		for _, x := range c.x {
			x.Free()
		}
	})
	return c
}

// record extracts one event's fields and records it; c.mu is held.
func (c *soakConsumer) record(evt *host.Event) {
	c.total++
	v := map[string]string{}
	for _, name := range soakFields {
		x := c.x[name]
		if _, err := x.Extract(evt); err != nil {
			c.mismatch = append(c.mismatch, fmt.Sprintf("%s: %v on %s", name, err, evt.Data()))
			return
		}
		if x.Len(0) > 0 {
			v[name] = x.String(0, 0)
		}
	}
	id := v["docker.actor.id"]
	if v["docker.type"] != "volume" || !strings.HasPrefix(id, c.prefix) {
		return
	}
	// A volume's name is its Actor.ID; the events carry no name attribute
	// (moby volume/service: LogVolumeEvent(v.Name(), ..., {"driver": ...})),
	// and if a daemon ever adds one it must be the same name.
	if name, ok := v["docker.attributes.name"]; ok && name != id {
		c.mismatch = append(c.mismatch, fmt.Sprintf("volume %s: docker.attributes.name %q", id, name))
	}
	c.byVolume[id] = append(c.byVolume[id], deliveredAction{action: v["docker.action"], seq: c.total})
}

// stall stops the consumer for d and returns the plugin's queue length when
// it ends, just before next_batch is called again.
func (c *soakConsumer) stall(d time.Duration) (queueLength uint64) {
	c.between(func() {
		// The stall under test: no next_batch call for d while the daemon
		// keeps publishing.
		time.Sleep(d)
		queueLength = metricsOf(c.s)["queue_length"]
	})
	return queueLength
}

// waitVolume blocks until an event with action about volume name was
// delivered, or fails the test after deadline.
func (c *soakConsumer) waitVolume(t *testing.T, name, action string, deadline time.Duration) {
	t.Helper()
	delivered := c.await(deadline, func() bool {
		for _, d := range c.byVolume[name] {
			if d.action == action {
				return true
			}
		}
		return false
	})
	if !delivered {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("volume %s %s: not delivered within %v (%d events delivered)", action, name, deadline, c.total)
	}
}

// result returns what was delivered; call it after halt.
func (c *soakConsumer) result() (total int, byVolume map[string][]deliveredAction, mismatch, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.byVolume, c.mismatch, c.bad
}
