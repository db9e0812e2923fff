package main

import (
	"fmt"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The slab of an instance is sized by the batches it has carried, not by
// batchSize up front. Every slot of sdk.NewEventWriters is its own calloc
// whose header the SDK writes, so a slab is resident in full from the
// moment it is allocated: at batchSize 256 and eventSize 4 KiB, 1 MiB in
// the process's peak RSS at plugin_open, whether events ever come
// (BENCHMARKS.md, "Process memory"). A live stream's batches are mostly an
// event or two; a replay fills every batch.
//
// So an instance opens with one one-slot slab, step. When a batch fills
// the regular slab (or step, the first time), the next one is twice as
// large, up to batchSize. Falco reads a batch until its next call to
// next_batch, and the SDK takes the slab for a call (Events) before calling
// NextBatch, so a slab can be freed only in the call after the one it was
// handed out for: a full regular slab is followed by a call on step, in
// which it is freed before its successor is allocated, so that the
// allocator gives its memory to the successor and at most one regular slab
// is resident. Reaching 256 slots takes 15 calls and 261 events.

// newSlab allocates a slab of slots event slots of eventSize bytes.
func newSlab(slots, eventSize int) (sdk.EventWriters, error) {
	slab, err := sdk.NewEventWriters(int64(slots), int64(eventSize))
	if err != nil {
		return nil, fmt.Errorf("allocate %d x %d bytes event batch: %w", slots, eventSize, err)
	}
	return slab, nil
}

// freeDone frees the slabs Falco is done with: evts is the one this call
// fills; Falco has finished with every batch handed out before.
func (inst *instance) freeDone(evts sdk.EventWriters) {
	if inst.oversized != nil && inst.oversized != evts {
		inst.oversized.Free()
		inst.oversized = nil
	}
	if inst.outgrown != nil && inst.outgrown != evts {
		inst.outgrown.Free()
		inst.outgrown = nil
	}
}

// batchSlab is the slab for the call after an oversized event's.
func (inst *instance) batchSlab() sdk.EventWriters {
	if inst.regular != nil {
		return inst.regular
	}
	return inst.step
}

// grow chooses the slab of the next call once this call has written n
// events into evts: a full slab is replaced by one twice its size, up to
// batchSize, with a call on step in between (see above).
func (inst *instance) grow(evts sdk.EventWriters, n int) error {
	if inst.pending != nil || n < evts.Len() {
		return nil // the next call is the oversized event's, or evts had room
	}
	switch {
	case evts == inst.regular && inst.slots > evts.Len():
		inst.outgrown, inst.regular = inst.regular, nil
		inst.events = inst.step
	case evts == inst.step && inst.regular == nil:
		// freeDone freed the outgrown slab at the start of this call.
		regular, err := newSlab(inst.slots, inst.cfg.EventSize)
		if err != nil {
			return err
		}
		inst.regular, inst.events = regular, regular
		inst.slots = min(2*inst.slots, inst.cfg.BatchSize)
	}
	return nil
}
