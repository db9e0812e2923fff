package e2e

import (
	"fmt"
	"strings"
	"sync"
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
	inst   *host.Instance
	s      *host.State
	prefix string
	x      map[string]*host.Extractor // one per field

	stallReq chan time.Duration
	stalled  chan uint64 // queue_length at the end of a stall

	mu       sync.Mutex
	cond     *sync.Cond
	total    int                          // events delivered, all kinds
	byVolume map[string][]deliveredAction // the prefix's volumes
	mismatch []string                     // events whose fields disagree
	bad      []string                     // next_batch errors and odd codes
	stop     chan struct{}
	done     chan struct{}
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
		inst: inst, s: s, prefix: prefix, x: map[string]*host.Extractor{},
		stallReq: make(chan time.Duration), stalled: make(chan uint64),
		byVolume: map[string][]deliveredAction{},
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	for _, name := range soakFields {
		f, ok := table[name]
		if !ok {
			t.Fatalf("the plugin has no field %s", name)
		}
		c.x[name] = s.NewExtractor([]host.Field{f.Field})
	}
	c.cond = sync.NewCond(&c.mu)
	go c.run()
	t.Cleanup(func() {
		c.halt()
		for _, x := range c.x {
			x.Free()
		}
	})
	return c
}

func (c *soakConsumer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case d := <-c.stallReq:
			// The stall under test: no next_batch call for d while the
			// daemon keeps publishing.
			time.Sleep(d)
			c.stalled <- metricsOf(c.s)["queue_length"]
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

// take extracts one event's fields and records it; c.mu is held.
func (c *soakConsumer) take(evt *host.Event) {
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
func (c *soakConsumer) stall(d time.Duration) uint64 {
	c.stallReq <- d
	return <-c.stalled
}

// waitVolume blocks until an event with action about volume name was
// delivered, or fails the test after deadline.
func (c *soakConsumer) waitVolume(t *testing.T, name, action string, deadline time.Duration) {
	t.Helper()
	timer := time.AfterFunc(deadline, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	end := time.Now().Add(deadline)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for _, d := range c.byVolume[name] {
			if d.action == action {
				return
			}
		}
		if time.Now().After(end) {
			t.Fatalf("volume %s %s: not delivered within %v (%d events delivered)", action, name, deadline, c.total)
		}
		c.cond.Wait()
	}
}

// halt stops the consumer after its current next_batch call.
func (c *soakConsumer) halt() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

// result returns what was delivered; call it after halt.
func (c *soakConsumer) result() (total int, byVolume map[string][]deliveredAction, mismatch, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.byVolume, c.mismatch, c.bad
}
