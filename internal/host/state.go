package host

/*
#include "cwrap.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// State is a plugin state returned by plugin_init. It is not safe for
// concurrent use, except that its Instances may be closed from any goroutine.
type State struct {
	p *Plugin
	h C.uintptr_t // ss_plugin_t*; 0 once destroyed

	// evtIn is reused by EventToString so that it passes no Go memory to C.
	evtIn *C.ss_plugin_event_input

	fw  APIVersion  // the framework version the plugin was initialised as
	log *C.host_log // owner and log_fn record, or nil without InitOptions.Log

	// mu guards insts, which Instance.Close may update from another goroutine.
	mu    sync.Mutex
	insts map[*Instance]struct{}
}

var errDestroyed = errors.New("host: plugin state destroyed")

// InitOptions says how Init presents the framework to the plugin.
type InitOptions struct {
	// Framework is the plugin API version of the framework the host acts
	// as; zero means HeaderAPIVersion. Init refuses a plugin that requires
	// more, with libsinsp's error, and passes ss_plugin_init_input and every
	// ss_plugin_field_extract_input holding only the members that version
	// has, each struct ending where an unreadable page starts: a plugin
	// reading a member its framework lacks crashes the process.
	Framework APIVersion
	// Log passes a log_fn (and a non-NULL owner) that records each message;
	// read them with State.Logs. Without it log_fn is NULL, as before
	// API 3.4.
	Log bool
}

// Init calls plugin_init with the given config, as a framework of the
// host's header version with no log_fn: see InitWith.
func (p *Plugin) Init(config string) (*State, error) {
	return p.InitWith(config, InitOptions{})
}

// InitWith checks the plugin's required API version against
// o.Framework as libsinsp does, then calls plugin_init with the given config,
// a non-NULL owner, and tables NULL. The config string is only guaranteed to
// live for the duration of the call.
//
// On failure the error is "plugin_init: <plugin_get_last_error text>", and
// the state the plugin may have returned to carry that text is destroyed.
func (p *Plugin) InitWith(config string, o InitOptions) (*State, error) {
	fw := o.Framework
	if fw == (APIVersion{}) {
		fw = HeaderAPIVersion
	}
	if err := p.CheckRequiredAPIVersion(fw); err != nil {
		return nil, err
	}
	cfg := C.CString(config)
	defer C.free(unsafe.Pointer(cfg))
	size := C.host_init_input_size(C.uint32_t(fw.Minor))
	in := (*C.ss_plugin_init_input)(C.host_guard_alloc(size))
	if in == nil {
		return nil, errors.New("host: cannot map the init input")
	}
	defer C.host_guard_free(unsafe.Pointer(in), size)
	in.config = cfg
	in.get_owner_last_error = C.host_owner_last_error_fn()
	// The owner must stay valid while the plugin may log, which is until
	// its goroutines are gone: it is never freed (a few KiB per State).
	var log *C.host_log
	if o.Log {
		if size < C.sizeof_ss_plugin_init_input {
			return nil, fmt.Errorf("host: API %s has no log_fn", fw)
		}
		log = C.host_log_new(logCapacity)
		in.owner = unsafe.Pointer(log)
		in.log_fn = C.host_log_fn_ptr()
	} else {
		in.owner = C.host_default_owner()
	}

	// As libscap: a plugin that forgets to set rc has failed.
	rc := C.ss_plugin_rc(C.SS_PLUGIN_FAILURE)
	h := C.host_init(p.api, in, &rc)
	if rc != C.SS_PLUGIN_SUCCESS {
		text := fmt.Sprintf("failed with rc %d and no state to read the error from", int32(rc))
		if h != 0 {
			text = C.GoString(C.host_get_last_error(p.api, h))
			C.host_destroy(p.api, h)
		}
		return nil, fmt.Errorf("plugin_init: %s", text)
	}
	if h == 0 {
		return nil, errors.New("plugin_init: returned success with a NULL state")
	}
	evtIn := (*C.ss_plugin_event_input)(C.calloc(1, C.sizeof_ss_plugin_event_input))
	evtIn.evtsrc = p.evtsrc
	return &State{p: p, h: h, evtIn: evtIn, fw: fw, log: log, insts: map[*Instance]struct{}{}}, nil
}

// Destroy closes the instances still open on s, then calls plugin_destroy.
// It is idempotent. It must not run concurrently with Instance.Close.
func (s *State) Destroy() {
	if s.h == 0 {
		return
	}
	s.mu.Lock()
	open := make([]*Instance, 0, len(s.insts))
	for i := range s.insts {
		open = append(open, i)
	}
	s.mu.Unlock()
	for _, i := range open {
		i.Close()
	}
	s.destroy()
}

// DestroyWithoutClose calls plugin_destroy while instances of s are still
// open, as a misbehaving host would (libsinsp closes first); the instances
// can still be closed afterwards. It exists for robustness tests.
func (s *State) DestroyWithoutClose() {
	if s.h != 0 {
		s.destroy()
	}
}

func (s *State) destroy() {
	C.host_destroy(s.p.api, s.h)
	s.h = 0
	C.free(unsafe.Pointer(s.evtIn))
	s.evtIn = nil
}

// LastError returns plugin_get_last_error, or "" once s is destroyed.
func (s *State) LastError() string {
	if s.h == 0 {
		return ""
	}
	return C.GoString(C.host_get_last_error(s.p.api, s.h))
}

// err builds the error for a failed call from plugin_get_last_error.
func (s *State) err(call string) error {
	return fmt.Errorf("%s: %s", call, s.LastError())
}

// ListOpenParams returns the JSON list of suggested open parameters from
// plugin_list_open_params. It fails if the plugin does not export that
// symbol or returns an rc other than SS_PLUGIN_SUCCESS.
func (s *State) ListOpenParams() (string, error) {
	if s.h == 0 {
		return "", errDestroyed
	}
	if s.p.api.list_open_params == nil {
		return "", errors.New("host: plugin does not export plugin_list_open_params")
	}
	rc := C.ss_plugin_rc(C.SS_PLUGIN_FAILURE)
	res := C.host_list_open_params(s.p.api, s.h, &rc)
	if rc != C.SS_PLUGIN_SUCCESS {
		return "", s.err("plugin_list_open_params")
	}
	return C.GoString(res), nil
}

// Open calls plugin_open with params and returns the capture instance. On
// failure the error is "plugin_open: <plugin_get_last_error text>".
func (s *State) Open(params string) (*Instance, error) {
	if s.h == 0 {
		return nil, errDestroyed
	}
	cparams := C.CString(params)
	defer C.free(unsafe.Pointer(cparams))
	rc := C.ss_plugin_rc(C.SS_PLUGIN_FAILURE)
	h := C.host_open(s.p.api, s.h, cparams, &rc)
	if rc != C.SS_PLUGIN_SUCCESS {
		return nil, s.err("plugin_open")
	}
	i := &Instance{s: s, h: h, out: (*C.host_batch)(C.calloc(1, C.sizeof_host_batch))}
	s.mu.Lock()
	s.insts[i] = struct{}{}
	s.mu.Unlock()
	return i, nil
}

// forget drops a closed instance from the set Destroy closes.
func (s *State) forget(i *Instance) {
	s.mu.Lock()
	delete(s.insts, i)
	s.mu.Unlock()
}

// EventToString returns plugin_event_to_string for e, or "" if the plugin
// does not export it or s is destroyed.
func (s *State) EventToString(e *Event) string {
	if s.h == 0 || s.p.api.event_to_string == nil || e == nil || e.evt == nil {
		return ""
	}
	s.evtIn.evt = e.evt
	s.evtIn.evtnum = C.uint64_t(e.Num)
	return C.GoString(C.host_event_to_string(s.p.api, s.h, s.evtIn))
}
