package bench

import (
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// open calls plugin_open on the replay file and closes the instance when b
// ends (or earlier, by the caller).
func open(b testing.TB, st *host.State, path string) *host.Instance {
	b.Helper()
	inst, err := st.Open("file://" + path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(inst.Close)
	return inst
}

// drain opens the replay, calls next_batch until EOF as libscap does,
// hands every event to each (when not nil) while its batch is current, and
// returns the number of events delivered.
func drain(b testing.TB, st *host.State, path string, each func(*host.Event)) int {
	b.Helper()
	inst, err := st.Open("file://" + path)
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	n := 0
	for {
		evts, rc, err := inst.NextBatch()
		if err != nil {
			b.Fatal(err)
		}
		if each != nil {
			for i := range evts {
				each(&evts[i])
			}
		}
		n += len(evts)
		if rc == host.SSPluginEOF {
			return n
		}
	}
}

// reportPerEvent reports the time of the benchmark loop per event.
func reportPerEvent(b *testing.B, events int) {
	if events == 0 {
		b.Fatal("no event delivered")
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(events)
	b.ReportMetric(ns, "ns/event")
	b.ReportMetric(1e9/ns, "events/s")
}
