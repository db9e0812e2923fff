package bench

import (
	"fmt"
	"testing"

	"github.com/falco-docker/plugin/internal/plugintest"
)

// BenchmarkNextBatch measures delivery alone: one op is a whole replay
// (replayLines events) drained to EOF through plugin_next_batch, open and
// close included, for batch sizes from 64 to 1024. The figures are the
// pipeline's throughput: the library's reader (file, decoding for the
// seed) runs on its own goroutine, next_batch copies into the slab.
// lib-B/event and lib-allocs/event are the library runtime's allocations
// (see heapMeter).
func BenchmarkNextBatch(b *testing.B) {
	s := load(b)
	path := replay(b)
	for _, size := range []int{64, 128, 256, 512, 1024} {
		// The state is made out here, by the parent benchmark, because our
		// plugin logs its pprof address at init: a log line printed in the
		// middle of a sub-benchmark's result line would hide that result
		// from benchstat.
		addr := plugintest.FreeLoopbackAddr(b)
		st := s.init(b, fmt.Sprintf(`{"batchSize":%d,"pprofAddr":%q}`, size, addr))
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			heap := startHeapMeter(b, addr)
			events := 0
			for b.Loop() {
				n := drain(b, st, path, nil)
				if n != replayLines {
					b.Fatalf("%d events delivered, the replay has %d", n, replayLines)
				}
				events += n
			}
			reportPerEvent(b, events)
			heap.report(b, events)
		})
	}
}
