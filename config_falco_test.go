package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/falcoyaml"
	jsoniter "github.com/json-iterator/go"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileConfigSchema compiles configSchema as a draft-04 schema, as
// libsinsp does with valijson before plugin_init (falcosecurity/libs
// userspace/libsinsp/plugin.cpp, validate_config_json_schema).
func compileConfigSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(configSchema))
	if err != nil {
		t.Fatalf("configSchema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource("init_schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("init_schema.json")
	if err != nil {
		t.Fatalf("configSchema does not compile as draft-04: %v", err)
	}
	return schema
}

func validateConfig(schema *jsonschema.Schema, config string) error {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(config))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}

// Each falco.yaml init_config is converted as Falco converts it, then
// checked against the schema (what libsinsp's valijson would say) and by
// parseConfig (what plugin_init would say).
func TestConfigFromFalcoYAML(t *testing.T) {
	ms := time.Millisecond
	schema := compileConfigSchema(t)
	for _, c := range []struct {
		name, yaml string
		json       string            // what plugin_init receives
		schemaErr  bool              // the schema (libsinsp) refuses it
		parseErr   string            // parseConfig refuses it, naming this
		warnings   []string          // one substring per warning, in order
		check      func(config) bool // what the config must hold
	}{
		{name: "absent", yaml: "", json: "{}", check: isDefault},
		{name: "empty string", yaml: "    init_config: \"\"\n", json: "{}", check: isDefault},
		{name: "quoted {}", yaml: "    init_config: '{}'\n", json: "{}", check: isDefault},
		// The reported bug: an empty YAML map arrives as null.
		{name: "{}", yaml: "    init_config: {}\n", json: "null", check: isDefault},
		{name: "null", yaml: "    init_config: null\n", json: "{}", check: isDefault},
		{name: "quoted null", yaml: "    init_config: \"null\"\n", json: "null", check: isDefault},
		{name: "JSON text", yaml: "    init_config: '{\"flushInterval\": 5}'\n", json: `{"flushInterval": 5}`,
			check: func(c config) bool { return c.FlushInterval == 5*ms }},
		// Quoted numbers and booleans arrive as numbers and booleans.
		{name: "quoted integer", yaml: "    init_config:\n      batchSize: \"64\"\n", json: `{"batchSize":64}`,
			check: func(c config) bool { return c.BatchSize == 64 }},
		{name: "apiVersion quoted 1.41", yaml: "    init_config:\n      apiVersion: \"1.41\"\n", json: `{"apiVersion":1.41}`,
			check: func(c config) bool { return c.APIVersion == "1.41" }},
		{name: "apiVersion 1.40", yaml: "    init_config:\n      apiVersion: 1.40\n", json: `{"apiVersion":1.4}`,
			check: func(c config) bool { return c.APIVersion == "1.40" }},
		{name: "apiVersion '1.50'", yaml: "    init_config:\n      apiVersion: '1.50'\n", json: `{"apiVersion":1.5}`,
			check: func(c config) bool { return c.APIVersion == "1.50" }},
		{name: "apiVersion 1", yaml: "    init_config:\n      apiVersion: 1\n", json: `{"apiVersion":1}`, parseErr: "apiVersion"},
		{name: "apiVersion yes", yaml: "    init_config:\n      apiVersion: yes\n", json: `{"apiVersion":true}`, schemaErr: true, parseErr: "apiVersion"},
		{name: "tls verify yes", yaml: "    init_config:\n      tls: {ca: /c.pem, verify: yes}\n", json: `{"tls":{"ca":"/c.pem","verify":true}}`,
			check: func(c config) bool { return c.TLS.Enabled && c.TLS.Verify }},
		{name: "tls verify quoted off", yaml: "    init_config:\n      tls: {verify: \"off\"}\n", json: `{"tls":{"verify":false}}`,
			check: func(c config) bool { return c.TLS.Enabled && !c.TLS.Verify }},
		{name: "tls verify maybe", yaml: "    init_config:\n      tls: {verify: maybe}\n", json: `{"tls":{"verify":"maybe"}}`, schemaErr: true, parseErr: "verify"},
		// Keys without a value, {} or [] arrive as null: defaults.
		{name: "null keys", yaml: "    init_config:\n      host:\n      hosts: []\n      tls: {}\n      filters: {}\n      batchSize: ~\n",
			json: `{"batchSize":null,"filters":null,"host":null,"hosts":null,"tls":null}`, check: isDefault},
		{name: ".inf is null", yaml: "    init_config:\n      queueSize: .inf\n", json: `{"queueSize":null}`, check: isDefault},
		{name: "host", yaml: "    init_config:\n      host: unix:///run/docker.sock\n", json: `{"host":"unix:///run/docker.sock"}`,
			check: func(c config) bool { return reflect.DeepEqual(c.Hosts, []string{"unix:///run/docker.sock"}) }},
		{name: "hosts", yaml: "    init_config:\n      hosts:\n        - tcp://a:2376\n        - tcp://b:2376\n", json: `{"hosts":["tcp://a:2376","tcp://b:2376"]}`,
			check: func(c config) bool { return reflect.DeepEqual(c.Hosts, []string{"tcp://a:2376", "tcp://b:2376"}) }},
		{name: "hosts not a list", yaml: "    init_config:\n      hosts: tcp://a:2376\n", json: `{"hosts":"tcp://a:2376"}`, schemaErr: true, parseErr: "hosts"},
		{name: "hosts with a null item", yaml: "    init_config:\n      hosts: [tcp://a:2376, ~]\n", json: `{"hosts":["tcp://a:2376",null]}`, schemaErr: true, parseErr: "hosts"},
		{name: "host and hosts", yaml: "    init_config:\n      host: unix:///a\n      hosts: [unix:///b]\n", json: `{"host":"unix:///a","hosts":["unix:///b"]}`, parseErr: "hosts"},
		// Nested tls, with numbers as paths and a YAML 1.1 boolean.
		{name: "tls", yaml: "    init_config:\n      tls:\n        ca: /c/ca.pem\n        cert: /c/cert.pem\n        key: /c/key.pem\n",
			json: `{"tls":{"ca":"/c/ca.pem","cert":"/c/cert.pem","key":"/c/key.pem"}}`,
			check: func(c config) bool {
				return c.TLS == tlsConfig{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem", Verify: true, Enabled: true}
			}},
		{name: "tls numbers and no", yaml: "    init_config:\n      tls: {cert: 1, key: 2, verify: no}\n", json: `{"tls":{"cert":1,"key":2,"verify":false}}`,
			check: func(c config) bool { return c.TLS == tlsConfig{Cert: "1", Key: "2", Enabled: true} }},
		{name: "tls misspelt key", yaml: "    init_config:\n      tls: {ca: /c/ca.pem, verfy: false}\n", json: `{"tls":{"ca":"/c/ca.pem","verfy":false}}`,
			warnings: []string{`"tls.verfy" ignored; did you mean "tls.verify"`},
			check:    func(c config) bool { return c.TLS.Verify && c.TLS.CA == "/c/ca.pem" }},
		{name: "tls cert without key", yaml: "    init_config:\n      tls: {ca: /c, cert: /c/cert.pem}\n", json: `{"tls":{"ca":"/c","cert":"/c/cert.pem"}}`, parseErr: "tls"},
		{name: "tls verify string", yaml: "    init_config:\n      tls: {ca: /c, verify: sure}\n", json: `{"tls":{"ca":"/c","verify":"sure"}}`, schemaErr: true, parseErr: "tls.verify"},
		// Filters: lists of strings, numbers taken as text, null as none.
		{name: "filters", yaml: "    init_config:\n      filters:\n        type: [container]\n        container: [1234]\n        label: [\"team=blue\"]\n        event:\n",
			json: `{"filters":{"container":[1234],"event":null,"label":["team=blue"],"type":["container"]}}`,
			check: func(c config) bool {
				return c.Filters == `{"container":{"1234":true},"label":{"team=blue":true},"type":{"container":true}}`
			}},
		{name: "filters not lists", yaml: "    init_config:\n      filters: {type: container}\n", json: `{"filters":{"type":"container"}}`, schemaErr: true, parseErr: "filters"},
		// Unknown keys: ignored, one warning each, naming the nearest known key.
		{name: "Host", yaml: "    init_config:\n      Host: tcp://a:2376\n", json: `{"Host":"tcp://a:2376"}`,
			warnings: []string{`unknown key "Host" ignored; did you mean "host"?`}, check: isDefault},
		{name: "misspelt keys", yaml: "    init_config:\n      flush_interval: 5\n      batchsize: 8\n", json: `{"batchsize":8,"flush_interval":5}`,
			warnings: []string{`"batchsize" ignored; did you mean "batchSize"?`, `"flush_interval" ignored; did you mean "flushInterval"?`}, check: isDefault},
		{name: "far unknown key", yaml: "    init_config:\n      someOtherKey: [1, 2]\n", json: `{"someOtherKey":[1,2]}`,
			warnings: []string{`unknown key "someOtherKey" ignored (the nearest known key is`}, check: isDefault},
		// The original docker plugin's spelling.
		{name: "flushinterval", yaml: "    init_config:\n      flushinterval: 5\n", json: `{"flushinterval":5}`,
			warnings: []string{`"flushinterval" is deprecated`}, check: func(c config) bool { return c.FlushInterval == 5*ms }},
		{name: "flushinterval in JSON text", yaml: "    init_config: '{\"flushinterval\": 1}'\n", json: `{"flushinterval": 1}`,
			warnings: []string{`"flushinterval" is deprecated`}, check: func(c config) bool { return c.FlushInterval == ms }},
		{name: "flushinterval and flushInterval", yaml: "    init_config:\n      flushinterval: 5\n      flushInterval: 6\n", json: `{"flushInterval":6,"flushinterval":5}`,
			parseErr: `"flushInterval" or its deprecated spelling "flushinterval"`},
		{name: "flushinterval out of range", yaml: "    init_config:\n      flushinterval: 0\n", json: `{"flushinterval":0}`, schemaErr: true, parseErr: "flushInterval"},
		// Ranges, and numbers as Falco writes them.
		{name: "1e3 is 1000.0", yaml: "    init_config:\n      batchSize: 1e3\n", json: `{"batchSize":1000.0}`,
			check: func(c config) bool { return c.BatchSize == 1000 }},
		{name: "batchSize 0", yaml: "    init_config:\n      batchSize: 0\n", json: `{"batchSize":0}`, schemaErr: true, parseErr: "batchSize"},
		{name: "beyond int32", yaml: "    init_config:\n      batchSize: 3000000000\n", json: `{"batchSize":3000000000.0}`, schemaErr: true, parseErr: "batchSize"},
		{name: "fraction", yaml: "    init_config:\n      flushInterval: 1.5\n", json: `{"flushInterval":1.5}`, schemaErr: true, parseErr: "flushInterval"},
		{name: "hex", yaml: "    init_config:\n      batchSize: 0x40\n", json: `{"batchSize":64}`,
			check: func(c config) bool { return c.BatchSize == 64 }},
		{name: "resumeWindow 0", yaml: "    init_config:\n      resumeWindow: 0\n", json: `{"resumeWindow":0}`,
			check: func(c config) bool { return c.ResumeWindow == 0 }},
		{name: "maxEventSize below eventSize", yaml: "    init_config:\n      eventSize: 65536\n      maxEventSize: 2048\n", json: `{"eventSize":65536,"maxEventSize":2048}`, parseErr: "maxEventSize"},
		{name: "pprofAddr not loopback", yaml: "    init_config:\n      pprofAddr: 0.0.0.0:6060\n", json: `{"pprofAddr":"0.0.0.0:6060"}`, parseErr: "pprofAddr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := falcoyaml.DockerPluginYAML(c.yaml)
			raw, err := falcoyaml.InitConfigJSON(doc, "docker")
			if err != nil {
				t.Fatalf("Falco would not start:\n%s\n%v", doc, err)
			}
			if raw != c.json {
				t.Fatalf("Falco passes %s, the case expects %s", raw, c.json)
			}
			if err := validateConfig(schema, raw); (err != nil) != c.schemaErr {
				t.Errorf("schema on %s: %v, want refused=%v", raw, err, c.schemaErr)
			}
			cfg, warnings, err := parseConfig(raw)
			switch {
			case c.parseErr == "" && err != nil:
				t.Fatalf("parseConfig(%s): %v", raw, err)
			case c.parseErr != "" && (err == nil || !strings.Contains(err.Error(), c.parseErr)):
				t.Fatalf("parseConfig(%s) = %v, want an error naming %s", raw, err, c.parseErr)
			case c.parseErr != "":
				return
			}
			if len(warnings) != len(c.warnings) {
				t.Fatalf("warnings %q, want %d: %q", warnings, len(c.warnings), c.warnings)
			}
			for i, w := range c.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q, want it to say %q", warnings[i], w)
				}
			}
			if c.check != nil && !c.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func isDefault(c config) bool { return reflect.DeepEqual(c, defaultConfig()) }

// A key the schema declares must be one parseConfig reads and suggests, and
// the other way round.
func TestConfigSchemaDeclaresTheKnownKeys(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"properties"`
	}
	if err := jsoniter.Unmarshal([]byte(configSchema), &schema); err != nil {
		t.Fatal(err)
	}
	var declared, tlsDeclared []string
	for k := range schema.Properties {
		declared = append(declared, k)
	}
	for k := range schema.Properties["tls"].Properties {
		tlsDeclared = append(tlsDeclared, k)
	}
	known := append([]string{flushIntervalAlias}, configKeyNames...)
	tlsKnown := append([]string(nil), tlsKeyNames...)
	for _, l := range [][]string{declared, tlsDeclared, known, tlsKnown} {
		sort.Strings(l)
	}
	if !reflect.DeepEqual(declared, known) || !reflect.DeepEqual(tlsDeclared, tlsKnown) {
		t.Errorf("schema declares %q and tls %q; parseConfig knows %q and tls %q", declared, tlsDeclared, known, tlsKnown)
	}
}
