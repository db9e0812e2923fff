// Package host is a minimal Falco-like plugin host for tests and benchmarks.
//
// It loads a Falco plugin shared library with dlopen, resolves its plugin_*
// C symbols with dlsym and calls them the way libsinsp/libscap do: init,
// open, next_batch, extract_fields, close, destroy and the optional helpers.
// The plugin is therefore exercised through its real C ABI, including the
// cgo transitions a plugin written in Go pays inside Falco.
//
// Typical use:
//
//	p, _ := host.Load("libdocker.so")
//	s, _ := p.Init(`{}`)
//	defer s.Destroy()
//	inst, _ := s.Open("")
//	defer inst.Close()
//	x := s.NewExtractor(fields)
//	defer x.Free()
//	for {
//		evts, rc, err := inst.NextBatch()
//		for k := range evts {
//			x.Extract(&evts[k])
//		}
//		if err != nil || rc == host.SSPluginEOF {
//			break
//		}
//	}
//
// Concurrency: a State and its Instances must be used from one goroutine at a
// time, except that Instance.Close may be called from another goroutine while
// NextBatch is blocked inside the plugin.
package host

// Framework versions: InitWith presents the plugin with the structs of a given
// plugin API version (see InitOptions), as Falco releases built on older libs
// would, and can pass a log_fn whose messages State.Logs returns.

// include/plugin_api.h and include/plugin_types.h (repository root) are verbatim copies of pkg/sdk/ in github.com/falcosecurity/plugin-sdk-go v0.8.3 (plugin API 3.11.0).
