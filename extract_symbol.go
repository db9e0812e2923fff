package main

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include "plugin_api.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// plugin_extract_fields is exported by the plugin instead of importing the
// SDK's symbols/extract package. The SDK's C plugin_extract_fields
// (plugin-sdk-go v0.8.3 pkg/sdk/symbols/extract/extract.c) reads
// in->value_offsets on every call, a member that only frameworks of API
// 3.11 and later pass (see requiredAPIVersion): against Falco 0.38 to 0.40
// it reads past the end of libsinsp's struct. plugin_api.h makes that member
// optional ("This member is optional, and might be ignored by extractors"),
// so this one ignores it and reads only num_fields and fields, which every
// 3.x framework passes.
//
// Otherwise it does what the SDK's plugin_extract_fields_sync does
// (pkg/sdk/symbols/extract/extract.go) with no value offsets: for each
// field, clear res_len, bind the state's pooled request for the field ID to
// the field, and run Extract (extract.go); the first error (an unknown field
// ID included) becomes the last error and fails the call. The SDK's
// asynchronous path is gone with it: measured, it did not pay
// (BENCHMARKS.md, "Sync or async extraction").
//
//export plugin_extract_fields
func plugin_extract_fields(pState C.uintptr_t, evt *C.ss_plugin_event_input, in *C.ss_plugin_field_extract_input) C.ss_plugin_rc {
	p := cgo.Handle(pState).Value().(*pluginState)
	fields := unsafe.Slice(in.fields, in.num_fields)
	reader := sdk.NewEventReader(unsafe.Pointer(evt))
	for i := range fields {
		f := &fields[i]
		f.res_len = 0
		if uint64(f.field_id) >= numFields {
			// Checked before the pool, which would keep a request per
			// bogus ID.
			p.SetLastError(fmt.Errorf("unknown field ID %d", f.field_id))
			return C.SS_PLUGIN_FAILURE
		}
		req := p.extractRequests.Get(int(f.field_id))
		req.SetPtr(unsafe.Pointer(f))
		req.SetOffsetPtrs(nil, nil)
		if err := p.Extract(req, reader); err != nil {
			p.SetLastError(err)
			return C.SS_PLUGIN_FAILURE
		}
	}
	return C.SS_PLUGIN_SUCCESS
}
