package main

import (
	"encoding/binary"
	"os"
	"syscall"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The slab is the array of event slots (sdk.NewEventWriters) that
// next_batch hands to Falco: this file writes an event into a slot, in the
// layout pluginevent.go describes, and keeps the slots' memory small.

// slotPointer returns the ss_plugin_event of slot i of evts: the array
// ArrayPtr hands to Falco.
func slotPointer(evts sdk.EventWriters, i int) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(evts.ArrayPtr(), uintptr(i)*unsafe.Sizeof(uintptr(0))))
}

// writeSlot stores data followed by trailer as the payload of slot i, whose
// capacity (the slab's event size) the caller has checked, and the
// timestamp. It is what sdk.EventWriter's Writer().Write and SetTimestamp
// do, in two copies.
func writeSlot(evts sdk.EventWriters, i int, ts uint64, data, trailer []byte) {
	evt := slotPointer(evts, i)
	n := len(data) + len(trailer)
	payload := unsafe.Slice((*byte)(unsafe.Add(evt, sdk.PluginEventPayloadOffset)), n)
	copy(payload, data)
	copy(payload[len(data):], trailer)
	header := unsafe.Slice((*byte)(evt), evtHeaderSize+8)
	binary.NativeEndian.PutUint64(header[evtTsOffset:], ts)
	binary.NativeEndian.PutUint32(header[evtLenOffset:], uint32(sdk.PluginEventPayloadOffset+n))
	binary.NativeEndian.PutUint32(header[evtDataLenParam:], uint32(n))
}

// releaseUnused returns to the kernel the whole pages of each slot's payload
// area of a new slab. sdk.NewEventWriters callocs every slot; slots below
// glibc's mmap threshold come from the heap and are cleared, so the whole
// slab (16 MiB by default) would be resident from plugin_open on, while
// most events fill a few hundred bytes of their slot. The pages hold zeros
// and MADV_DONTNEED keeps them zero-filled on demand: the content is the
// same, only what is resident changes. The slot headers, and glibc's chunk
// headers before them, are on pages left alone.
func releaseUnused(evts sdk.EventWriters, eventSize int) {
	for i := 0; i < evts.Len(); i++ {
		releaseSlotPages(evts, i, 0, eventSize)
	}
}

// slotKeepBytes is how much of a slot's payload stays resident once used:
// what most events need (median 370 bytes, p95 700).
const slotKeepBytes = 4 << 10

type slotTrim struct{ slot, size int }

// trimSlot gives back the pages an event of size bytes wrote in slot i past
// its first slotKeepBytes, once Falco is done with it; eventSize is the
// slot's capacity. The page holding the event's last bytes goes too: its
// content no longer matters, and kept, such tail pages would add up to a
// page per slot in time. The capacity bound keeps the release off the
// next slot's header, which follows the payload in memory.
func trimSlot(evts sdk.EventWriters, i, size, eventSize int) {
	releaseSlotPages(evts, i, slotKeepBytes, min(size+os.Getpagesize(), eventSize))
}

// releaseSlotPages gives back the whole pages of slot i's payload between
// byte offsets from and to. Only for memory whose content no longer
// matters: it reads as zeros afterwards.
func releaseSlotPages(evts sdk.EventWriters, i, from, to int) {
	page := uintptr(os.Getpagesize())
	evt := slotPointer(evts, i)
	start := uintptr(evt) + sdk.PluginEventPayloadOffset
	first, last := (start+uintptr(from)+page-1)&^(page-1), (start+uintptr(to))&^(page-1)
	if last > first {
		mem := unsafe.Slice((*byte)(unsafe.Add(evt, first-uintptr(evt))), last-first)
		syscall.Madvise(mem, syscall.MADV_DONTNEED) // advice only: nothing to do if refused
	}
}
