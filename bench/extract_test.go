package bench

import (
	"sync"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// ruleFields are the fields of a typical rule, in the order its condition
// and output ask for them:
//
//	docker.type = container and docker.action startswith exec_ and
//	docker.exec.command contains curl -> %docker.attributes.name %docker.attributes.image
var ruleFields = []string{
	"docker.type",
	"docker.action",
	"docker.attributes.name",
	"docker.attributes.image",
	"docker.exec.command",
}

// extractors returns one single-field Extractor per rule field: libsinsp
// calls plugin_extract_fields with num_fields = 1, once per field.
func extractors(b testing.TB, s *subject, st *host.State) []*host.Extractor {
	b.Helper()
	xs := make([]*host.Extractor, len(ruleFields))
	for i, name := range ruleFields {
		xs[i] = st.NewExtractor([]host.Field{s.field(b, name)})
		b.Cleanup(xs[i].Free)
	}
	return xs
}

// sampleSize is how many replayed events the extraction benchmarks cycle
// through: the replay is drawn at random, so its first events follow its
// mix.
const sampleSize = 4096

var sample struct {
	once sync.Once
	evts []*host.Event
}

// sampleEvents returns the first sampleSize events of the replay, as the
// subject delivers them (ours: the daemon's bytes; the seed: re-encoded),
// cloned so that they outlive their batch.
func sampleEvents(b testing.TB, s *subject) []*host.Event {
	b.Helper()
	sample.once.Do(func() {
		st, err := s.plugin.Init(`{}`)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Destroy()
		drain(b, st, shortReplay(b), func(e *host.Event) {
			if len(sample.evts) < sampleSize {
				sample.evts = append(sample.evts, e.Clone())
			}
		})
	})
	if len(sample.evts) < sampleSize {
		b.Fatalf("the replay delivered %d events, want %d", len(sample.evts), sampleSize)
	}
	return sample.evts
}

// eventNums numbers events as libsinsp does: every event a new number, so
// that the plugin's per-event cache sees a new event.
type eventNums uint64

func (n *eventNums) next(e *host.Event) *host.Event {
	*n++
	e.Num = uint64(*n)
	return e
}

func extract(b *testing.B, x *host.Extractor, e *host.Event) {
	if _, err := x.Extract(e); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExtract measures plugin_extract_fields with the rule's fields,
// one field per call, synchronous in both libraries (see extractConfig):
//
//   - first-field: the first field asked of a new event, which decodes it;
//   - cached-field: a later field of an event already decoded (the event
//     changes every cachedRun calls, which amortizes its decoding to a
//     negligible share: see cachedRun);
//   - rule: the whole rule on a new event, 5 calls; ns/field is ns/op / 5.
func BenchmarkExtract(b *testing.B) {
	s := load(b)
	evts := sampleEvents(b, s)
	st := s.init(b, extractConfig(s))
	// Falco extracts while an instance is open: keep one open.
	open(b, st, shortReplay(b))
	xs := extractors(b, s, st)
	var nums eventNums

	b.Run("first-field", func(b *testing.B) {
		i := 0
		for b.Loop() {
			extract(b, xs[0], nums.next(evts[i%len(evts)]))
			i++
		}
	})
	b.Run("cached-field", func(b *testing.B) {
		var e *host.Event
		i := 0
		for b.Loop() {
			if i%cachedRun == 0 {
				e = nums.next(evts[(i/cachedRun)%len(evts)])
				extract(b, xs[0], e)
			}
			extract(b, xs[1+i%(len(xs)-1)], e)
			i++
		}
	})
	b.Run("rule", func(b *testing.B) {
		i := 0
		for b.Loop() {
			e := nums.next(evts[i%len(evts)])
			for _, x := range xs {
				extract(b, x, e)
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/field")
	})
}

// extractConfig is BenchmarkExtract's init_config. Ours extracts
// synchronously only (its asynchronous mode was removed: BENCHMARKS.md,
// "Sync or async extraction"); the seed starts the SDK's asynchronous
// worker at open unless told not to, so it is told, and both measure the
// same synchronous call. BenchmarkPipeline shows each library's default.
func extractConfig(s *subject) string {
	if s.name == "baseline" {
		return `{"asyncExtraction":false}`
	}
	return ""
}

// cachedRun is how many cached-field calls share one event: its decoding
// (a few µs for ours, tens of µs for the seed) then adds at most
// a few ns to each call.
const cachedRun = 4096
