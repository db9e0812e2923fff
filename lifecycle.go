package main

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include "plugin_api.h"
*/
import "C"

import (
	"fmt"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The plugin exports plugin_init, plugin_destroy, plugin_open and
// plugin_close itself instead of importing the SDK's symbols/initialize and
// symbols/open packages: the SDK's plugin_init passes only the config string
// to the plugin, and the plugin needs the owner and log_fn of
// ss_plugin_init_input to log through Falco; the SDK's plugin_open passes only
// the open params, not the plugin state it is called for, which would leave
// the plugin guessing which of its states (Falco inits one per inspector)
// an open belongs to. These two functions do what
// the SDK's versions do (plugin-sdk-go v0.8.3 pkg/sdk/symbols/initialize):
// the extraction request pool, the cgo handle, the last error on failure,
// and on destroy Destroy then freeing the SDK buffers and the handle (not a
// progress buffer: ours is the instance's, freed by Close). The
// SDK's init/destroy hooks are skipped: only its high-level sdk/plugins
// layer, which this plugin does not use, sets them.

//export plugin_init
func plugin_init(in *C.ss_plugin_init_input, rc *C.ss_plugin_rc) C.uintptr_t {
	var config string
	if in != nil {
		config = C.GoString(in.config)
	}
	p, err := newPluginState(config, newLogger(in))
	if err != nil {
		// As the SDK: a state that only carries the error, for
		// plugin_get_last_error; the framework then destroys it.
		*rc = C.SS_PLUGIN_FAILURE
		return C.uintptr_t(cgo.NewHandle(&initFailure{err: err}))
	}
	p.extractRequests = sdk.NewExtractRequestPool()
	*rc = C.SS_PLUGIN_SUCCESS
	return C.uintptr_t(cgo.NewHandle(p))
}

//export plugin_destroy
func plugin_destroy(s C.uintptr_t) {
	if s == 0 {
		return
	}
	h := cgo.Handle(s)
	v := h.Value()
	if d, ok := v.(sdk.Destroyer); ok {
		d.Destroy()
	}
	if r, ok := v.(sdk.ExtractRequests); ok && r.ExtractRequests() != nil {
		r.ExtractRequests().Free()
		r.SetExtractRequests(nil)
	}
	if b, ok := v.(sdk.LastErrorBuffer); ok {
		b.LastErrorBuffer().Free()
	}
	if b, ok := v.(sdk.StringerBuffer); ok {
		b.StringerBuffer().Free()
	}
	if b, ok := v.(sdk.OpenParamsBuffer); ok {
		b.OpenParamsBuffer().Free()
	}
	h.Delete()
}

// initFailure is the state plugin_init returns when it fails.
type initFailure struct {
	err error
	buf ptr.StringBuffer
}

// plugin_get_last_error (symbols/lasterr) asserts these on the failed state.
var (
	_ sdk.LastError       = (*initFailure)(nil)
	_ sdk.LastErrorBuffer = (*initFailure)(nil)
)

func (f *initFailure) LastError() error                  { return f.err }
func (f *initFailure) SetLastError(err error)            { f.err = err }
func (f *initFailure) LastErrorBuffer() sdk.StringBuffer { return &f.buf }

//export plugin_open
func plugin_open(s C.uintptr_t, params *C.char, rc *C.ss_plugin_rc) C.uintptr_t {
	*rc = C.SS_PLUGIN_FAILURE
	v := cgo.Handle(s).Value()
	p, ok := v.(*pluginState)
	if !ok {
		// A framework opening a state whose init failed.
		if f, ok := v.(*initFailure); ok {
			f.SetLastError(fmt.Errorf("plugin_open after a failed plugin_init: %w", f.err))
		}
		return 0
	}
	inst, err := p.open(C.GoString(params))
	if err != nil {
		p.SetLastError(err)
		return 0
	}
	*rc = C.SS_PLUGIN_SUCCESS
	return C.uintptr_t(cgo.NewHandle(inst))
}

// plugin_close closes an instance and frees its batch, as the SDK's does
// (plugin-sdk-go v0.8.3 pkg/sdk/symbols/open).
//
//export plugin_close
func plugin_close(_ C.uintptr_t, i C.uintptr_t) {
	if i == 0 {
		return
	}
	h := cgo.Handle(i)
	inst := h.Value().(*instance)
	inst.Close()
	inst.Events().Free()
	inst.SetEvents(nil)
	h.Delete()
}
