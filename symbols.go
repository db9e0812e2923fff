package main

// Each import below brings the C symbols of one capability; the plugin
// implements the interfaces they call (see state.go, batch.go, extract.go).
import (
	// plugin_extract_fields (sync, and async when extract.StartAsync is used)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
	// plugin_event_to_string (evt.plugininfo)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/evtstr"
	// plugin_get_fields
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/fields"
	// plugin_get_required_api_version, plugin_get_id, plugin_get_name,
	// plugin_get_description, plugin_get_contact, plugin_get_version,
	// plugin_get_event_source, plugin_get_extract_event_sources,
	// plugin_get_extract_event_types
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/info"
	// plugin_init, plugin_destroy
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initialize"
	// plugin_get_init_schema
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/initschema"
	// plugin_get_last_error
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/lasterr"
	// plugin_list_open_params
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/listopen"
	// plugin_next_batch
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/nextbatch"
	// plugin_open, plugin_close
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/open"
	// plugin_get_progress (replay files)
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/progress"
)
