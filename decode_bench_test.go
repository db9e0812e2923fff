package main

// In-process micro benchmarks of the extraction hot path. They live in the
// plugin's own package to reach its unexported code and to run in the test's
// own Go runtime, so that -benchmem, -cpuprofile and -memprofile see them
// (the C-ABI benchmarks of bench/ cannot: the .so has its own runtime).
// `make profile` runs them with -cpuprofile and -memprofile. They drive
// pluginState.Extract with testRequest (extract_test.go) on events written
// in the SDK's event memory (testEvent).

import (
	"testing"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// BenchmarkDecode decodes the fixture's events in turn; one op is one event.
func BenchmarkDecode(b *testing.B) {
	lines := fixtureLines(b)
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	d := newDecodedEvent()
	i := 0
	for b.Loop() {
		d.decode(uint64(i+1), lines[i%len(lines)])
		i++
	}
}

// benchRuleFields are the fields of a typical rule (bench/extract_test.go).
var benchRuleFields = []string{"docker.type", "docker.action", "docker.attributes.name", "docker.attributes.image", "docker.exec.command"}

// BenchmarkExtractField calls pluginState.Extract as the SDK's
// plugin_extract_fields does, one field per call:
//
//   - first: the first field of a new event (read + decode + field);
//   - first-attribute: an attribute field first (the attributes are
//     decoded on the first attribute field asked of an event);
//   - cached: one of the rule's later fields of the cached event (the
//     event changes every 4096 calls).
//
// The events are in the SDK's event memory and read through its
// EventReader, as Falco passes them; the C-ABI benchmarks of bench/ add the
// cost of the C calls.
func BenchmarkExtractField(b *testing.B) {
	lines := fixtureLines(b)
	p := newTestPlugin(b)
	reqs := make([]*testRequest, len(benchRuleFields))
	for i, name := range benchRuleFields {
		reqs[i] = &testRequest{id: uint64(fieldIDOf(name))}
	}
	events := make([]*testEvent, len(lines))
	for i, line := range lines {
		events[i] = writeTestEvent(b, line)
	}
	var evt sdk.EventReader
	num := uint64(0)
	next := func(i int) sdk.EventReader {
		num++
		evt = events[i%len(events)].at(num)
		return evt
	}
	extract := func(b *testing.B, req *testRequest, evt sdk.EventReader) {
		if err := p.Extract(req, evt); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			extract(b, reqs[0], next(i))
			i++
		}
	})
	b.Run("first-attribute", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			extract(b, reqs[2], next(i)) // docker.attributes.name
			i++
		}
	})
	b.Run("first-label", func(b *testing.B) {
		// A key that is no known attribute, as a rule on a label asks.
		req := &testRequest{id: uint64(fieldIDOf("docker.attributes")), arg: "com.docker.compose.project", hasArg: true}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			extract(b, reqs[0], next(i))
			extract(b, req, evt)
			i++
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%4096 == 0 {
				extract(b, reqs[0], next(i/4096))
			}
			extract(b, reqs[1+i%(len(reqs)-1)], evt)
			i++
		}
	})
}
