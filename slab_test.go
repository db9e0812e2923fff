package main

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// residentPages reports, with mincore(2), which pages of slot i's payload
// bytes [from, to) are in RAM.
func residentPages(t *testing.T, evts sdk.EventWriters, i, from, to int) []bool {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := uintptr(slotPointer(evts, i)) + sdk.PluginEventPayloadOffset
	first := (start + uintptr(from)) &^ (page - 1)
	n := int((start + uintptr(to) - first + page - 1) / page)
	vec := make([]byte, n)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, first, uintptr(n)*page, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	in := make([]bool, n)
	for k, v := range vec {
		in[k] = v&1 != 0
	}
	return in
}

// A slot that held a large event keeps resident at most the pages its first
// slotKeepBytes touch once trimmed: the event's tail pages, the last one
// included, go back to the kernel, the next slot is untouched, and the
// memory reads as zeros (no stale event bytes).
func TestTrimSlotReleasesTailPages(t *testing.T) {
	const eventSize = 64 << 10
	page := os.Getpagesize()
	for _, size := range []int{slotKeepBytes + 1, 9000, 3*page + 17, eventSize} {
		// A slab per size: reading the released pages for zeros below maps
		// them again (to the zero page), which mincore counts as resident.
		evts, err := sdk.NewEventWriters(2, eventSize)
		if err != nil {
			t.Fatal(err)
		}
		defer evts.Free()
		releaseUnused(evts, eventSize)
		data := bytes.Repeat([]byte{'x'}, size)
		writeSlot(evts, 0, 1, data, nil)
		writeSlot(evts, 1, 2, []byte(`{"next":"slot"}`), nil)
		if in := residentPages(t, evts, 0, slotKeepBytes, size); !in[len(in)-1] {
			t.Fatalf("size %d: the event's last page is not resident after the write: the check sees nothing", size)
		}
		trimSlot(evts, 0, size, eventSize)
		// Pages wholly past the first slotKeepBytes of the payload, up to
		// the slot's capacity (the page after it holds the next slot).
		start := int(uintptr(slotPointer(evts, 0))+sdk.PluginEventPayloadOffset) % page
		from := (start+slotKeepBytes+page-1)/page*page - start
		to := (start+eventSize)/page*page - start
		for k, resident := range residentPages(t, evts, 0, from, to) {
			if resident && from+k*page < to {
				t.Errorf("size %d: page %d past the kept bytes is still resident", size, k)
			}
		}
		payload := unsafe.Slice((*byte)(unsafe.Add(slotPointer(evts, 0), sdk.PluginEventPayloadOffset)), eventSize)
		if i := bytes.IndexByte(payload[from:to], 'x'); i >= 0 {
			t.Fatalf("size %d: released memory still holds event bytes at %d", size, from+i)
		}
		next := unsafe.Slice((*byte)(unsafe.Add(slotPointer(evts, 1), sdk.PluginEventPayloadOffset)), 15)
		if string(next) != `{"next":"slot"}` {
			t.Fatalf("size %d: trimming slot 0 changed slot 1: %q", size, next)
		}
	}
}
