package main

import (
	"encoding/binary"
	"reflect"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The plugin event layout (libscap's PPME_PLUGINEVENT_E, fixed by the plugin
// API): a packed 26-byte header {ts u64, tid u64, len u32, type u16,
// nparams u32}, two u32 parameter lengths (plugin ID, data), the u32 plugin
// ID, then the data. The SDK's EventWriter and EventReader move the data one
// byte per loop iteration; the plugin writes the layout into its own slab
// (writeSlot, slab.go) and reads it at extraction (eventData, below) with
// copy instead.
const (
	evtHeaderSize   = sdk.PluginEventPayloadOffset - 12
	evtTsOffset     = 0
	evtLenOffset    = 16
	evtTypeOffset   = 20
	evtDataLenParam = evtHeaderSize + 4
	pluginEventType = 322
)

// sdkEventReader is the type of the readers the SDK passes to Extract and
// String: a pointer to the C ss_plugin_event_input.
var sdkEventReader = reflect.TypeOf(sdk.NewEventReader(nil))

// eventData returns the payload of evt without copying: a view of the event
// in Falco's memory, valid while Falco handles that event, which is while
// its fields are extracted. ok is false for an event that is not a plugin
// event, or a reader that is not the SDK's.
func eventData(evt sdk.EventReader) (data []byte, ok bool) {
	if reflect.TypeOf(evt) != sdkEventReader {
		return nil, false
	}
	// ss_plugin_event_input starts with its ss_plugin_event pointer.
	input := (*[2]unsafe.Pointer)(unsafe.Pointer(&evt))[1]
	e := *(*unsafe.Pointer)(input)
	if e == nil {
		return nil, false
	}
	header := unsafe.Slice((*byte)(e), evtHeaderSize+8)
	if binary.NativeEndian.Uint16(header[evtTypeOffset:]) != pluginEventType {
		return nil, false
	}
	total := binary.NativeEndian.Uint32(header[evtLenOffset:])
	n := binary.NativeEndian.Uint32(header[evtDataLenParam:])
	if total < sdk.PluginEventPayloadOffset || n > total-sdk.PluginEventPayloadOffset {
		return nil, false
	}
	return unsafe.Slice((*byte)(unsafe.Add(e, sdk.PluginEventPayloadOffset)), n), true
}
