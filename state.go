package main

import (
	"fmt"
	"sync/atomic"

	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// pluginState is what plugin_init returns to Falco: the configuration, the
// SDK's extraction requests, the last error and the decoded-event cache.
type pluginState struct {
	cfg config
	log *logger

	extractRequests sdk.ExtractRequestPool
	lastErr         error
	lastErrBuf      ptr.StringBuffer
	stringerBuf     ptr.StringBuffer
	openParamsBuf   ptr.StringBuffer

	instances instanceRegistry // the open instances, for metrics and Destroy
	pprof     *pprofServer     // nil unless pprofAddr is set

	cache       *decodedEvent // the last event decoded for extraction
	undecodable atomic.Uint64 // events whose data is not a JSON object
}

// The SDK's C symbols find a state's methods by type assertion at run time
// (plugin-sdk-go v0.8.3 pkg/sdk/symbols: evtstr, lasterr, listopen,
// nextbatch), and so do ours (lifecycle.go, extract_symbol.go): a method
// renamed or given another signature would make the assertion fail, or
// panic, inside Falco. These make it a compile error instead.
var (
	_ sdk.Stringer         = (*pluginState)(nil) // evtstr: plugin_event_to_string
	_ sdk.StringerBuffer   = (*pluginState)(nil) // evtstr; freed by plugin_destroy
	_ sdk.LastError        = (*pluginState)(nil) // lasterr, listopen, nextbatch
	_ sdk.LastErrorBuffer  = (*pluginState)(nil) // lasterr; freed by plugin_destroy
	_ sdk.OpenParams       = (*pluginState)(nil) // listopen: plugin_list_open_params
	_ sdk.OpenParamsBuffer = (*pluginState)(nil) // listopen; freed by plugin_destroy
	_ sdk.Destroyer        = (*pluginState)(nil) // plugin_destroy
	_ sdk.ExtractRequests  = (*pluginState)(nil) // plugin_destroy frees the pool
	_ sdk.Extractor        = (*pluginState)(nil) // plugin_extract_fields (extract_symbol.go)
)

// newPluginState builds the state plugin_init returns, logging through log.
func newPluginState(rawConfig string, log *logger) (*pluginState, error) {
	cfg, warnings, err := parseConfig(rawConfig)
	if err != nil {
		return nil, err
	}
	p := &pluginState{
		cfg:   cfg,
		log:   log,
		cache: newDecodedEvent(),
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
