package main

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
)

// asyncExtraction turns the SDK's asynchronous extraction on for a plugin
// state (init_config asyncExtraction). The SDK keys its extraction workers by
// the state's cgo handle, which plugin_init (init.go) stores in the state.
type asyncExtraction struct {
	handle  cgo.Handle
	started bool
}

// start turns async extraction on for p, if configured and not yet done.
func (a *asyncExtraction) start(p *pluginState) {
	if !p.cfg.AsyncExtraction || a.started || p.handle == 0 {
		return
	}
	extract.StartAsync(p.handle)
	a.handle, a.started = p.handle, true
}

// stop turns it off again; the SDK panics if it is stopped without having
// been started, so only a started state stops it.
func (a *asyncExtraction) stop() {
	if a.started {
		extract.StopAsync(a.handle)
		a.started = false
	}
}
