package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
)

// benchConfig holds the init_config keys the seed lacks and the benchmarks
// need, with the same names and meaning as in our plugin, so that one
// benchmark binary drives either library with the same configs. Unset keys
// keep the seed's behaviour.
type benchConfig struct {
	// BatchSize is the push instance's batch size (the SDK's default, 128
	// events of 256 KiB, when 0).
	BatchSize uint32 `json:"batchSize"`
	// AsyncExtraction turns the SDK's async extraction on or off; absent,
	// it is on, as in the seed (where it runs whenever GOMAXPROCS > 1).
	AsyncExtraction *bool `json:"asyncExtraction"`
	// PprofAddr serves net/http/pprof, for the plugin runtime's MemStats
	// and profiles.
	PprofAddr string `json:"pprofAddr"`
}

// benchState owns what the benchmark knobs start.
type benchState struct {
	pprof *http.Server
}

// init applies c. It runs inside plugin_init, before the extractor's
// after-init hook starts async extraction, so SetAsync decides whether the
// hook starts it.
func (s *benchState) init(c benchConfig) error {
	// The setting is global to the library: restore the seed's default
	// when the key is absent, whatever an earlier plugin_init set.
	extract.SetAsync(c.AsyncExtraction == nil || *c.AsyncExtraction)
	if c.PprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", c.PprofAddr)
	if err != nil {
		return fmt.Errorf("pprofAddr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.pprof = &http.Server{Handler: mux}
	// Serve returns http.ErrServerClosed once Destroy closes it.
	go s.pprof.Serve(ln)
	return nil
}

// Destroy stops the pprof server (plugin_destroy calls it).
func (p *Plugin) Destroy() {
	if p.bench.pprof != nil {
		p.bench.pprof.Close()
	}
}

// newPushInstance is the seed's source.NewPushInstance call, with the
// batch size when configured.
func (c PluginConfig) newPushInstance(eventC <-chan source.PushEvent, cancel func()) (source.Instance, error) {
	if c.BatchSize > 0 {
		return source.NewPushInstance(eventC, source.WithInstanceClose(cancel), source.WithInstanceBatchSize(c.BatchSize))
	}
	return source.NewPushInstance(eventC, source.WithInstanceClose(cancel))
}
