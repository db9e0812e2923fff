package main

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
)

// asyncExtraction turns the SDK's asynchronous extraction on for a plugin
// state (init_config asyncExtraction). The SDK starts it from a hook its
// high-level layer owns, with the state's cgo handle, which plugin_init
// creates only after our init callback has returned; so the state finds its
// handle at its first open, once, by looking itself up among the SDK's
// handles.
type asyncExtraction struct {
	handle  cgo.Handle
	started bool
}

// start turns async extraction on for p, if configured and not yet done.
func (a *asyncExtraction) start(p *pluginState) {
	if !p.cfg.AsyncExtraction || a.started {
		return
	}
	h, ok := handleOf(p)
	if !ok {
		p.warn("asyncExtraction: plugin state handle not found; extraction stays synchronous")
		return
	}
	extract.StartAsync(h)
	a.handle, a.started = h, true
}

// stop turns it off again; the SDK panics if it is stopped without having
// been started, so only a started state stops it.
func (a *asyncExtraction) stop() {
	if a.started {
		extract.StopAsync(a.handle)
		a.started = false
	}
}

// handleOf finds the cgo handle whose value is v.
func handleOf(v any) (cgo.Handle, bool) {
	for h := cgo.Handle(1); h <= cgo.MaxHandle; h++ {
		if val, ok := handleValue(h); ok && val == v {
			return h, true
		}
	}
	return 0, false
}

// handleValue is h.Value() for a handle that may be unused (Value panics).
func handleValue(h cgo.Handle) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = nil, false
		}
	}()
	return h.Value(), true
}
