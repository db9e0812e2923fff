package main

// Each import below brings the C symbols of one capability; the plugin
// implements the interfaces they call (see state.go, instance.go, extract.go).
import (
	// plugin_event_to_string (evt.plugininfo)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/evtstr"
	// plugin_get_fields
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/fields"
	// plugin_get_required_api_version, plugin_get_id, plugin_get_name,
	// plugin_get_description, plugin_get_contact, plugin_get_version,
	// plugin_get_event_source, plugin_get_extract_event_sources,
	// plugin_get_extract_event_types
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/info"
	// plugin_init, plugin_destroy, plugin_open, plugin_close: exported by lifecycle.go
	// plugin_extract_fields: exported by extract_symbol.go
	// plugin_get_init_schema
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initschema"
	// plugin_get_last_error
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/lasterr"
	// plugin_list_open_params
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/listopen"
	// plugin_next_batch
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/nextbatch"
	// plugin_get_progress (replay files)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/progress"
)

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "plugin_types.h"
#include "metrics_buffers.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
)

// plugin_get_metrics (plugin API 3.x) has no package in the Go SDK: the
// plugin exports it itself. Falco polls it for its metrics output, from
// several threads at once; each thread gets its own array
// (metrics_buffers.c), and the values are read from atomics and under the
// instances' lock.
//
//export plugin_get_metrics
func plugin_get_metrics(pState C.uintptr_t, numMetrics *C.uint32_t) *C.ss_plugin_metric {
	*numMetrics = 0
	if pState == 0 {
		return nil
	}
	p, ok := cgo.Handle(pState).Value().(*pluginState)
	if !ok {
		return nil
	}
	n := len(metricDefs)
	arr := C.metrics_thread_buffer(pState, C.uint32_t(n), metricNames())
	if arr == nil {
		return nil
	}
	totals := p.instances.totals()
	totals.eventsUndecodable += p.undecodable.Load()
	for i, def := range metricDefs {
		m := (*C.ss_plugin_metric)(unsafe.Add(unsafe.Pointer(arr), i*C.sizeof_ss_plugin_metric))
		m._type = C.SS_PLUGIN_METRIC_TYPE_NON_MONOTONIC
		if def.monotonic {
			m._type = C.SS_PLUGIN_METRIC_TYPE_MONOTONIC
		}
		m.value_type = C.SS_PLUGIN_METRIC_VALUE_TYPE_U64
		*(*C.uint64_t)(unsafe.Pointer(&m.value)) = C.uint64_t(def.value(&totals))
	}
	*numMetrics = C.uint32_t(n)
	return arr
}

// metricNames returns the metric names as a C array of C strings, allocated
// once for the life of the process: every per-thread array points to them.
var metricNames = sync.OnceValue(func() **C.char {
	names := (**C.char)(C.malloc(C.size_t(len(metricDefs)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	for i, def := range metricDefs {
		*(**C.char)(unsafe.Add(unsafe.Pointer(names), i*int(unsafe.Sizeof((*C.char)(nil))))) = C.CString(def.name)
	}
	return names
})
