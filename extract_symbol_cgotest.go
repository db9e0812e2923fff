package main

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "plugin_api.h"
*/
import "C"

import (
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
)

// Test files cannot use cgo, so the C memory that the tests of
// plugin_extract_fields (extract_symbol_test.go) pass it is built here, as
// Go's own cgo tests do. Nothing else calls these functions, and the linker
// leaves them out of the .so.

// extractCall is one plugin_extract_fields call as libsinsp makes it, in C
// memory: the event input, and an extract input as a 3.0 framework lays it
// out (num_fields and fields; value_offsets is never set).
type extractCall struct {
	evt    *C.ss_plugin_event_input
	in     *C.ss_plugin_field_extract_input
	fields []C.ss_plugin_extract_field
	cstrs  []*C.char
}

// newExtractCall prepares a call on the plugin event at event (an
// ss_plugin_event) for the given field IDs; an ID outside fieldTable is
// requested as a string field with no name. Release it with free.
func newExtractCall(event unsafe.Pointer, ids ...uint32) *extractCall {
	c := &extractCall{
		evt: (*C.ss_plugin_event_input)(C.calloc(1, C.sizeof_ss_plugin_event_input)),
		in:  (*C.ss_plugin_field_extract_input)(C.calloc(1, C.sizeof_ss_plugin_field_extract_input)),
	}
	c.evt.evt = (*C.ss_plugin_event)(event)
	c.evt.evtnum = 1
	c.evt.evtsrc = c.cstring(pluginEventSource)
	if len(ids) > 0 {
		arr := (*C.ss_plugin_extract_field)(C.calloc(C.size_t(len(ids)), C.sizeof_ss_plugin_extract_field))
		c.fields = unsafe.Slice(arr, len(ids))
		c.in.fields = arr
	}
	c.in.num_fields = C.uint32_t(len(ids))
	for i, id := range ids {
		f := &c.fields[i]
		f.field_id = C.uint32_t(id)
		f.ftype = C.FTYPE_STRING
		if uint64(id) < numFields {
			f.field = c.cstring(fieldTable[id].Name)
			if fieldTable[id].Type == "uint64" {
				f.ftype = C.FTYPE_UINT64
			}
		}
	}
	return c
}

func (c *extractCall) cstring(s string) *C.char {
	p := C.CString(s)
	c.cstrs = append(c.cstrs, p)
	return p
}

// run calls plugin_extract_fields on the plugin state behind h, as the
// framework does, and returns its ss_plugin_rc.
func (c *extractCall) run(h cgo.Handle) int32 {
	return int32(plugin_extract_fields(C.uintptr_t(h), c.evt, c.in))
}

// setResLen stores n as field i's res_len, as a stale value from an
// earlier call would be.
func (c *extractCall) setResLen(i int, n uint64) { c.fields[i].res_len = C.uint64_t(n) }

// resLen is the number of values field i received.
func (c *extractCall) resLen(i int) uint64 { return uint64(c.fields[i].res_len) }

// str is the first value of string field i; resLen(i) must be at least 1.
func (c *extractCall) str(i int) string {
	res := *(***C.char)(unsafe.Pointer(&c.fields[i].res))
	return C.GoString(*res)
}

func (c *extractCall) free() {
	for _, p := range c.cstrs {
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(c.in.fields))
	C.free(unsafe.Pointer(c.in))
	C.free(unsafe.Pointer(c.evt))
}
