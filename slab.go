package main

import (
	"encoding/binary"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The slab is the array of event slots (sdk.NewEventWriters) that
// next_batch hands to Falco: this file writes an event into a slot, in the
// layout pluginevent.go describes.

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
