package main

import (
	"fmt"
	"sync/atomic"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// pluginState is what plugin_init returns to Falco: the configuration, the
// SDK's extraction requests, the last error and the decoded-event cache.
type pluginState struct {
	cfg    config
	log    *logger
	handle cgo.Handle // what plugin_init returned to the framework

	extractRequests sdk.ExtractRequestPool
	lastErr         error
	lastErrBuf      ptr.StringBuffer
	stringerBuf     ptr.StringBuffer
	openParamsBuf   ptr.StringBuffer

	instances instanceRegistry // the open instances, for metrics and Destroy
	pprof     *pprofServer     // nil unless pprofAddr is set

	cache       *decodedEvent // the last event decoded for extraction
	smallValues boxedValues   // values of small-set fields, boxed once
	readBuf     []byte        // an event's bytes, when its reader must copy them (test stand-ins)
	undecodable atomic.Uint64 // events whose data is not a JSON object
}

// newPluginState builds the state plugin_init returns, logging through log.
func newPluginState(rawConfig string, log *logger) (*pluginState, error) {
	cfg, warnings, err := parseConfig(rawConfig)
	if err != nil {
		return nil, err
	}
	p := &pluginState{
		cfg:         cfg,
		log:         log,
		cache:       newDecodedEvent(),
		smallValues: newBoxedValues(),
	}
	for _, w := range warnings {
		p.warn(w)
	}
	if cfg.PprofAddr != "" {
		if p.pprof, err = startPprof(cfg.PprofAddr); err != nil {
			return nil, err
		}
		p.log.Info(fmt.Sprintf("serving net/http/pprof on http://%s/debug/pprof/", p.pprof.Addr()))
	}
	return p, nil
}

func (p *pluginState) Destroy() {
	p.instances.stopAll()
	if p.pprof != nil {
		p.pprof.Close()
	}
}

// warn is p.log.Warn as a func value, for the stream readers.
func (p *pluginState) warn(msg string) { p.log.Warn(msg) }

func (p *pluginState) ExtractRequests() sdk.ExtractRequestPool     { return p.extractRequests }
func (p *pluginState) SetExtractRequests(r sdk.ExtractRequestPool) { p.extractRequests = r }
func (p *pluginState) LastError() error                            { return p.lastErr }
func (p *pluginState) SetLastError(err error)                      { p.lastErr = err }
func (p *pluginState) LastErrorBuffer() sdk.StringBuffer           { return &p.lastErrBuf }
func (p *pluginState) StringerBuffer() sdk.StringBuffer            { return &p.stringerBuf }
func (p *pluginState) OpenParamsBuffer() sdk.StringBuffer          { return &p.openParamsBuf }
