package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// burstSize is how many containers one op creates and removes.
const burstSize = 32

// burstTimeout bounds one op: the burst and the wait for its events.
const burstTimeout = 60 * time.Second

// BenchmarkLatency times daemon event -> next_batch return on the machine's
// own daemon (open params ""): one op is a burst of burstSize containers
// created then removed (see burst), and each of their create and destroy
// events is timed from its timeNano (the daemon's clock, on this machine)
// to the return of the next_batch that delivered it. p50-ms and p99-ms are
// over every event of every op; ns/op is the burst's duration; reopens
// counts the instances that failed and were opened again (see liveStream).
//
// Both libraries batch: next_batch returns when the batch is full or a
// flush interval has passed (ours: flushInterval, 30 ms by default; the
// seed: a fixed 30 ms, its flushInterval key is read but never used), so
// the latency of a burst smaller than a batch is mostly that interval:
// flush=1ms shows what is left.
func BenchmarkLatency(b *testing.B) {
	if !testdocker.Available() {
		b.Skip("needs root and the docker CLI, with a running daemon")
	}
	s := load(b)
	image := testdocker.Image(b, testdocker.Docker{})
	cli := dockerClient(b)
	for _, c := range []struct{ name, config string }{
		{"default", `{}`},
		{"flush=1ms", `{"flushInterval":1}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			live := &liveStream{st: s.init(b, c.config), cli: cli}
			live.open(b)
			b.Cleanup(live.close)
			var lat []time.Duration
			op := 0
			for b.Loop() {
				op++
				lat = append(lat, live.timeBurst(b, image, fmt.Sprintf("%s%d-%d", burstPrefix, os.Getpid(), op))...)
			}
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
			b.ReportMetric(float64(live.reopened), "reopens")
		})
	}
}

// liveStream is a live instance, opened again when next_batch fails: the
// seed ends its stream at its first error (for one, an event larger than
// its 256 KiB slots, which anyone else using the daemon may cause), and
// what others do on the machine's daemon must not end the benchmark.
// reopened counts it.
type liveStream struct {
	st       *host.State
	cli      *client.Client
	inst     *host.Instance
	reopened int
}

// maxAttempts bounds the bursts tried for one op.
const maxAttempts = 3

func (l *liveStream) open(b *testing.B) {
	b.Helper()
	inst, err := l.st.Open("")
	if err != nil {
		b.Fatal(err)
	}
	l.inst = inst
	subscribed(b, l.cli, inst)
}

func (l *liveStream) close() { l.inst.Close() }

// timeBurst runs one burst named prefix and returns the latency of each of
// its events, opening the instance again if next_batch fails.
func (l *liveStream) timeBurst(b *testing.B, image, prefix string) []time.Duration {
	b.Helper()
	for attempt := 1; ; attempt++ {
		name := fmt.Sprintf("%s-%d", prefix, attempt)
		lat, err := l.burst(image, name)
		if err == nil {
			return lat
		}
		if !errors.Is(err, errBatch) || attempt == maxAttempts {
			b.Fatalf("burst %s: %v", name, err)
		}
		b.Logf("burst %s: %v; opening the instance again", name, err)
		l.close()
		l.open(b)
		l.reopened++
	}
}

func (l *liveStream) burst(image, prefix string) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), burstTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- burst(ctx, l.cli, image, prefix, burstSize) }()
	lat := make([]time.Duration, 0, 2*burstSize)
	err := watch(l.inst, burstTimeout, func(ev liveEvent, returned time.Time) bool {
		if ev.Type == "container" && (ev.Action == "create" || ev.Action == "destroy") &&
			strings.HasPrefix(ev.Actor.Attributes["name"], prefix+"-") {
			lat = append(lat, returned.Sub(time.Unix(0, ev.TimeNano)))
		}
		return len(lat) == 2*burstSize
	})
	if err != nil {
		cancel() // else the burst's last calls may still be returning
	}
	if berr := <-done; berr != nil && err == nil {
		err = berr
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%d of %d events seen)", err, len(lat), 2*burstSize)
	}
	return lat, nil
}

// subscribed returns once the instance delivers events: the seed subscribes
// to the daemon on a goroutine after plugin_open has returned, so events
// right after the open could precede its subscription. It creates marker
// volumes until one's create event comes through.
func subscribed(b *testing.B, cli *client.Client, inst *host.Instance) {
	b.Helper()
	for try := range 10 {
		name := fmt.Sprintf("%ssync-%d-%d", burstPrefix, os.Getpid(), try)
		if _, err := cli.VolumeCreate(context.Background(), volume.CreateOptions{Name: name}); err != nil {
			b.Fatal(err)
		}
		err := watch(inst, 2*time.Second, func(ev liveEvent, _ time.Time) bool {
			return ev.Type == "volume" && ev.Action == "create" && ev.Actor.ID == name
		})
		cli.VolumeRemove(context.Background(), name, true)
		if err == nil {
			return
		}
	}
	b.Fatal("the live instance delivered none of 10 marker events")
}

// liveEvent is what the latency benchmark reads of a delivered event.
type liveEvent struct {
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
	TimeNano int64 `json:"timeNano"`
}

var (
	errTimeout = errors.New("timed out")
	errBatch   = errors.New("next_batch failed")
)

// watch calls next_batch until done returns true for an event or timeout
// passes. done receives each event with the time its next_batch returned.
func watch(inst *host.Instance, timeout time.Duration, done func(ev liveEvent, returned time.Time) bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		evts, rc, err := inst.NextBatch()
		returned := time.Now()
		if err != nil {
			return fmt.Errorf("%w: %v", errBatch, err)
		}
		if rc == host.SSPluginEOF {
			return fmt.Errorf("%w: the live stream ended", errBatch)
		}
		for i := range evts {
			// Our live events carry their origin after a NUL.
			data, _, _ := bytes.Cut(evts[i].Data(), []byte{0})
			var ev liveEvent
			if json.Unmarshal(data, &ev) == nil && done(ev, returned) {
				return nil
			}
		}
	}
	return errTimeout
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
