package main

// Each import below brings the C symbols of one capability; the plugin
// implements the interfaces they call (see state.go, batch.go, extract.go).
import (
	// plugin_extract_fields (sync, and async when extract.StartAsync is used)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
	// plugin_event_to_string (evt.plugininfo)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/evtstr"
	// plugin_get_fields
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/fields"
	// plugin_get_required_api_version, plugin_get_id, plugin_get_name,
	// plugin_get_description, plugin_get_contact, plugin_get_version,
	// plugin_get_event_source, plugin_get_extract_event_sources,
	// plugin_get_extract_event_types
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/info"
	// plugin_init, plugin_destroy
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initialize"
	// plugin_get_init_schema
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initschema"
	// plugin_get_last_error
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/lasterr"
	// plugin_list_open_params
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/listopen"
	// plugin_next_batch
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/nextbatch"
	// plugin_open, plugin_close
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/open"
	// plugin_get_progress (replay files)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/progress"
)

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "plugin_types.h"
*/
import "C"

import (
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
)

// plugin_get_metrics (plugin API 3.x) has no package in the Go SDK: the
// plugin exports it itself. Falco polls it for its metrics output.
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
	out := p.metricsBuffer()
	totals := p.instances.totals()
	totals.eventsUndecodable += p.undecodable.Load()
	for i, def := range metricDefs {
		m := &out[i]
		m._type = C.SS_PLUGIN_METRIC_TYPE_NON_MONOTONIC
		if def.monotonic {
			m._type = C.SS_PLUGIN_METRIC_TYPE_MONOTONIC
		}
		m.value_type = C.SS_PLUGIN_METRIC_VALUE_TYPE_U64
		*(*C.uint64_t)(unsafe.Pointer(&m.value)) = C.uint64_t(def.value(&totals))
	}
	*numMetrics = C.uint32_t(len(out))
	return &out[0]
}

// metricsBuffer returns the plugin state's C array of metrics, allocated
// with its names on first use and freed by Destroy.
func (p *pluginState) metricsBuffer() []C.ss_plugin_metric {
	if p.metricsC == nil {
		n := len(metricDefs)
		p.metricsC = unsafe.Pointer(C.calloc(C.size_t(n), C.sizeof_ss_plugin_metric))
		out := unsafe.Slice((*C.ss_plugin_metric)(p.metricsC), n)
		for i, def := range metricDefs {
			out[i].name = C.CString(def.name)
		}
	}
	return unsafe.Slice((*C.ss_plugin_metric)(p.metricsC), len(metricDefs))
}

// freeMetricsBuffer releases what metricsBuffer allocated.
func (p *pluginState) freeMetricsBuffer() {
	if p.metricsC == nil {
		return
	}
	for _, m := range unsafe.Slice((*C.ss_plugin_metric)(p.metricsC), len(metricDefs)) {
		C.free(unsafe.Pointer(m.name))
	}
	C.free(p.metricsC)
	p.metricsC = nil
}
