// Command docker is a Falco plugin (built with -buildmode=c-shared) that
// streams Docker Engine events into Falco and extracts docker.* fields.
package main

import (
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/fields"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/info"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initschema"
)

const (
	pluginID          = 5 // the registry's docker plugin ID: this plugin is its drop-in successor
	pluginName        = "docker"
	pluginDescription = "Docker Engine events (containers, images, volumes, networks, execs, Swarm services, nodes, secrets, configs) as a Falco event source, with docker.* fields"
	pluginContact     = "github.com/falco-docker/plugin"
	pluginVersion     = "0.1.0"
	pluginEventSource = "docker"
)

func init() {
	info.SetId(pluginID)
	info.SetName(pluginName)
	info.SetDescription(pluginDescription)
	info.SetContact(pluginContact)
	info.SetVersion(pluginVersion)
	info.SetEventSource(pluginEventSource)
	setRequiredAPIVersion(requiredAPIVersion) // not info.SetRequiredAPIVersion: see apiversion.go
	fields.SetFields(fieldTable[:])
	initschema.SetInitSchema(&sdk.SchemaInfo{Schema: configSchema})
}

//go:generate go test -run TestReadmeTablesMatchTheCode -update .

func main() {}
