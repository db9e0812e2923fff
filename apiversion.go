package main

import (
	_ "unsafe" // go:linkname

	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
)

// requiredAPIVersion is what plugin_get_required_api_version returns.
// libsinsp loads a plugin when its framework API has the same major and a
// minor at least this one (falcosecurity/libs userspace/plugin/plugin_loader.c,
// plugin_check_required_api_version), and a framework only fills the members
// of its own structs: reading a member added by a later minor reads past the
// end of what the framework passed. So this is the highest minor among the
// members the plugin, and the SDK code it links, read:
//
//   - ss_plugin_init_input.owner and .log_fn, with the signature
//     log_fn(owner, component, msg, sev) (logger.go): present from 3.4.0 on
//     (falcosecurity/libs userspace/plugin/plugin_api.h as vendored at 3.4.0
//     in gnosek/falco-plugin-rs falco_plugin_api/plugin/plugin_api.h; libs
//     commits 08794fd and 6c0db3a, both still 3.3.0, show log_fn without and
//     with the owner argument).
//   - plugin_get_metrics (symbols.go) is an optional symbol: a framework that
//     predates it never looks it up, so it sets no minimum.
//   - ss_plugin_field_extract_input: only num_fields and fields, members
//     since 3.0. The plugin exports its own plugin_extract_fields
//     (extract_symbol.go) because plugin-sdk-go v0.8.3's C one
//     (pkg/sdk/symbols/extract/extract.c) reads in->value_offsets on every
//     call, a member added by falcosecurity/libs#2322 and released with API
//     3.11.0 in libs 0.21.0 (Falco 0.41): it would have set the minimum to
//     3.11.0, and on an older framework it reads, and when not NULL writes
//     through, whatever follows libsinsp's struct.
//
// log_fn sets the minimum: 3.4.0. Every Falco from 0.38 on loads the plugin
// (0.38: 3.6, 0.39: 3.7, 0.40: 3.10, 0.41: 3.11, 0.42 to 0.44: 3.12;
// falcosecurity/libs plugin_api.h at libs 0.17, 0.18, 0.20, 0.21, 0.22 to
// 0.25). A framework below 3.4 refuses it with libsinsp's message; that
// includes Falco 0.37 and older (libs 0.14 and older), whose API predates
// the owner-first log_fn — not checked against a libs 0.14 header here.
// e2e/falco_versions_test.go loads the plugin as each of those frameworks
// would, with each struct ending on an unreadable page, and as a 3.3 one.
const requiredAPIVersion = "3.4.0"

// sdkRequiredAPIVersion is the buffer plugin_get_required_api_version of the
// SDK's info package returns (plugin-sdk-go v0.8.3
// pkg/sdk/symbols/info/info.go, pRequiredAPIVersion). The plugin writes it
// directly because that package's setter, info.SetRequiredAPIVersion,
// compares minors as strings against its own "11": "4" > "11", so it panics
// at load for any required minor from 2 to 9. An empty
// buffer makes the SDK return its header's version (3.11.0) instead.
//
//go:linkname sdkRequiredAPIVersion github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/info.pRequiredAPIVersion
var sdkRequiredAPIVersion ptr.StringBuffer

// setRequiredAPIVersion is what info.SetRequiredAPIVersion does once its
// checks pass; the plugin's version is below the SDK's, which is the case
// that setter is meant to accept.
func setRequiredAPIVersion(v string) {
	sdkRequiredAPIVersion.Write(v)
}
