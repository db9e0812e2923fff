package host

/*
#include <string.h>
#include "cwrap.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

// payloadOffset is where the data of a plugin event starts: the scap header,
// the two 4-byte parameter lengths and the 4-byte plugin ID (the SDK's
// sdk.PluginEventPayloadOffset).
const payloadOffset = C.sizeof_ss_plugin_event + 4 + 4 + 4

// Event is one event of a batch, as libsinsp sees it: the host-assigned
// event number, the timestamp, and the raw ss_plugin_event.
//
// Events returned by NextBatch are views into memory owned by the plugin;
// Clone makes an owned copy.
type Event struct {
	Num       uint64 // host event number, from 1
	Timestamp uint64 // nanoseconds since the epoch (ss_plugin_event.ts)

	evt   *C.ss_plugin_event
	owned bool // evt was allocated by Clone
}

// Data returns the payload of a plugin event (PPME_PLUGINEVENT_E) as a view
// into the event memory, without copying, or nil for other event types and
// malformed events.
func (e *Event) Data() []byte {
	if e == nil || e.evt == nil || e.evt._type != pluginEventCode {
		return nil
	}
	total := uint32(e.evt.len)
	if total < payloadOffset {
		return nil
	}
	// The data length is the second parameter length, after the ID length.
	lenp := (*[4]byte)(unsafe.Add(unsafe.Pointer(e.evt), C.sizeof_ss_plugin_event+4))
	n := min(binary.NativeEndian.Uint32(lenp[:]), total-payloadOffset)
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e.evt), payloadOffset)), n)
}

// Clone returns a deep copy of e whose ss_plugin_event lives in C-malloc'ed
// memory, so that it outlives the batch and can still be passed to the
// plugin (Extract, EventToString). The copy must be released with Free.
func (e *Event) Clone() *Event {
	if e == nil || e.evt == nil {
		return nil
	}
	n := max(C.size_t(e.evt.len), C.sizeof_ss_plugin_event)
	c := (*C.ss_plugin_event)(C.malloc(n))
	C.memcpy(unsafe.Pointer(c), unsafe.Pointer(e.evt), n)
	return &Event{Num: e.Num, Timestamp: e.Timestamp, evt: c, owned: true}
}

// Free releases the memory of an event made by Clone. It is idempotent and a
// no-op on events returned by NextBatch, whose memory the plugin owns.
func (e *Event) Free() {
	if e == nil || !e.owned || e.evt == nil {
		return
	}
	C.free(unsafe.Pointer(e.evt))
	e.evt = nil
}
