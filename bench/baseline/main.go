// Command baseline is the seed docker plugin of the original blog post
// ("Extend Falco inputs by creating a Plugin: the basics"), kept as the
// reference design the benchmarks of package bench compare against: the
// high-level plugin-sdk-go layer (plugins, extractor, source), a push
// instance fed through an unbuffered channel, encoding/json per event
// (decode the daemon's event, encode it again), and extraction by a string
// switch on the field name. Build it with -buildmode=c-shared.
//
// It differs from the seed only where the benchmarks need it to (each place
// says so): it replays a JSON-lines file (file://PATH), declares
// docker.exec.command, and takes batchSize, asyncExtraction and pprofAddr
// in its init_config. BENCHMARKS.md at the repository root has the figures.
package main

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/extractor"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
)

const (
	PluginID          uint32 = 5
	PluginName               = "docker"
	PluginDescription        = "Docker Events"
	PluginContact            = "github.com/falcosecurity/plugins/"
	PluginVersion            = "0.2.0"
	PluginEventSource        = "docker"
)

func init() {
	plugins.SetFactory(func() plugins.Plugin {
		p := &Plugin{}
		p.SetInfo(
			PluginID,
			PluginName,
			PluginDescription,
			PluginContact,
			PluginVersion,
			PluginEventSource,
		)
		extractor.Register(p)
		source.Register(p)
		return p
	})
}

func main() {}
