package main

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
//   - ss_plugin_field_extract_input.value_offsets: plugin-sdk-go v0.8.3's C
//     plugin_extract_fields (pkg/sdk/symbols/extract/extract.c) reads
//     in->value_offsets on every call, and when it is not NULL writes offset
//     arrays through it. The member was added by falcosecurity/libs#2322
//     (March 2025, after libs 0.20.0 shipped API 3.10.0 in Falco 0.40), and
//     released with API 3.11.0 in libs 0.21.0 (Falco 0.41). On a 3.10
//     framework that read lands on whatever follows libsinsp's stack
//     struct, and a non-NULL value there is written to.
//
// value_offsets sets the minimum: 3.11.0, i.e. Falco 0.41 and later (0.41:
// 3.11, 0.42 to 0.44: 3.12). Accepting Falco 0.38 to 0.40 (3.6, 3.7, 3.10)
// needs a plugin_extract_fields that never reads value_offsets, which means
// replacing the SDK's extract package, asynchronous extraction included.
// e2e/falco_versions_test.go loads the plugin as each of those frameworks
// would, with each struct ending on an unreadable page.
//
// The SDK's info.SetRequiredAPIVersion compares minors as strings against its
// own "11" (a "7" would panic at load); "11" is equal and passes.
const requiredAPIVersion = "3.11.0"
