package host

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -ldl
#include "cwrap.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Plugin is a plugin shared library loaded into the process.
//
// A Plugin is never unloaded and has no Unload method: a library built with
// -buildmode=c-shared embeds a Go runtime, whose threads, signal handlers and
// timers cannot be torn down, so dlclose would leave dangling code pointers.
// For the same reason a process should load at most one Go plugin library.
type Plugin struct {
	api       *C.host_api // C memory, lives as long as the process
	info      Info
	fields    string
	schema    string
	hasSchema bool

	// evtsrc is the event source name passed to extract_fields and
	// event_to_string; it is read by the plugin during those calls only, but
	// is shared by every Extractor, so it lives as long as the Plugin.
	evtsrc *C.char

	// evtNum is the last event number handed out; libsinsp numbers events
	// from 1 across the whole capture.
	evtNum atomic.Uint64
}

// Info is the static description a plugin reports through its plugin_get_*
// symbols.
type Info struct {
	RequiredAPIVersion string
	Version            string
	Name               string
	Description        string
	Contact            string
	EventSource        string
	ID                 uint32
}

// Load opens the plugin library at path with dlopen(RTLD_NOW|RTLD_LOCAL) and
// resolves its symbols. All of plugin_get_required_api_version,
// plugin_get_version, plugin_get_name, plugin_get_description,
// plugin_get_contact, plugin_get_id, plugin_get_event_source,
// plugin_get_fields, plugin_get_last_error, plugin_init, plugin_destroy,
// plugin_open, plugin_close, plugin_next_batch and plugin_extract_fields are
// required; plugin_get_init_schema, plugin_list_open_params,
// plugin_event_to_string, plugin_get_progress, plugin_get_metrics and
// plugin_get_extract_event_sources are optional. The error carries the
// dlerror text or the name of the first missing symbol.
//
// The library is never dlclose'd, not even when Load fails (see Plugin).
// Load does not check the required API version against the host's.
func Load(path string) (*Plugin, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))

	var cerr *C.char
	handle := C.host_dlopen(cpath, &cerr)
	if handle == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("host: dlopen: %s", C.GoString(cerr))
	}

	api := (*C.host_api)(C.calloc(1, C.sizeof_host_api))
	if missing := C.host_resolve(handle, api); missing != nil {
		C.free(unsafe.Pointer(api))
		return nil, fmt.Errorf("host: %s: missing required symbol %s", path, C.GoString(missing))
	}

	p := &Plugin{api: api}
	p.info = Info{
		RequiredAPIVersion: C.GoString(C.host_call_str(api.get_required_api_version)),
		Version:            C.GoString(C.host_call_str(api.get_version)),
		Name:               C.GoString(C.host_call_str(api.get_name)),
		Description:        C.GoString(C.host_call_str(api.get_description)),
		Contact:            C.GoString(C.host_call_str(api.get_contact)),
		EventSource:        C.GoString(C.host_call_str(api.get_event_source)),
		ID:                 uint32(C.host_get_id(api)),
	}
	p.fields = C.GoString(C.host_call_str(api.get_fields))
	if api.get_init_schema != nil {
		var typ C.ss_plugin_schema_type
		s := C.host_get_init_schema(api, &typ)
		p.schema = C.GoString(s)
		p.hasSchema = s != nil && typ == C.SS_PLUGIN_SCHEMA_JSON
	}
	p.evtsrc = C.CString(p.extractSource())
	return p, nil
}

// extractSource picks the event source name given to the plugin with each
// event: its own source if it has one, else the first source it declares it
// can extract from (extraction-only plugins), else "".
func (p *Plugin) extractSource() string {
	if p.info.EventSource != "" {
		return p.info.EventSource
	}
	var srcs []string
	raw := C.GoString(C.host_call_str(p.api.get_extract_event_sources))
	if json.Unmarshal([]byte(raw), &srcs) == nil && len(srcs) > 0 {
		return srcs[0]
	}
	return ""
}

// Info returns the plugin description read once at Load time.
func (p *Plugin) Info() Info { return p.info }

// InitSchema returns the JSON schema of the init configuration. ok is false
// when the plugin does not export plugin_get_init_schema or reports no JSON
// schema. The host does not validate configs against it (libsinsp does).
func (p *Plugin) InitSchema() (schema string, ok bool) { return p.schema, p.hasSchema }

// Fields returns the raw JSON array returned by plugin_get_fields; see
// ParseFields.
func (p *Plugin) Fields() string { return p.fields }
