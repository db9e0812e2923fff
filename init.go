package main

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include "plugin_api.h"
*/
import "C"

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// The plugin exports plugin_init and plugin_destroy itself instead of
// importing the SDK's symbols/initialize package: that package passes only
// the config string to the plugin, and the plugin needs the owner and log_fn
// of ss_plugin_init_input to log through Falco. These two functions do what
// the SDK's versions do (plugin-sdk-go v0.8.3 pkg/sdk/symbols/initialize):
// the extraction request pool, the cgo handle, the last error on failure,
// and on destroy Destroy then freeing the SDK buffers and the handle. The
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
	p.handle = cgo.NewHandle(p)
	*rc = C.SS_PLUGIN_SUCCESS
	return C.uintptr_t(p.handle)
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
	if b, ok := v.(sdk.ProgressBuffer); ok {
		b.ProgressBuffer().Free()
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

func (f *initFailure) LastError() error                  { return f.err }
func (f *initFailure) SetLastError(err error)            { f.err = err }
func (f *initFailure) LastErrorBuffer() sdk.StringBuffer { return &f.buf }
