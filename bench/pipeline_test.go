package bench

import (
	"fmt"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

// BenchmarkPipeline is what Falco pays per event with one typical rule
// loaded: one op drains the short replay (shortReplayLines) with each library's default
// configuration (ours: extraction synchronous, its only mode; the seed:
// asynchronous, as the high-level SDK starts it) and extracts the rule's five fields from
// every event, one call per field, while its batch is current.
func BenchmarkPipeline(b *testing.B) {
	s := load(b)
	path := shortReplay(b)
	// Made before the sub-benchmark prints its name: see BenchmarkNextBatch.
	addr := plugintest.FreeLoopbackAddr(b)
	st := s.init(b, fmt.Sprintf(`{"pprofAddr":%q}`, addr))
	xs := extractors(b, s, st)
	b.Run("config=default", func(b *testing.B) {
		heap := startHeapMeter(b, addr)
		events := 0
		for b.Loop() {
			events += drain(b, st, path, func(e *host.Event) {
				for _, x := range xs {
					extract(b, x, e)
				}
			})
		}
		reportPerEvent(b, events)
		heap.report(b, events)
	})
}
