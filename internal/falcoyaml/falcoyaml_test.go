package falcoyaml

import (
	"strings"
	"testing"
)

// Each case is a falco.yaml init_config and the string Falco makes of it
// (m_init_config); plugin_init gets the same except "" → "{}".
func TestInitConfigAsFalcoMakesIt(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		// configuration.h: no init_config, or a YAML null, leaves "".
		{"absent", "", ""},
		{"empty value", "    init_config:\n", ""},
		{"null", "    init_config: null\n", ""},
		{"tilde", "    init_config: ~\n", ""},
		// A scalar is as<std::string>(): its text, quotes removed.
		{"empty string", "    init_config: \"\"\n", ""},
		{"quoted {}", "    init_config: '{}'\n", "{}"},
		{"JSON text kept byte for byte", "    init_config: '{\"flushInterval\": 5,  \"host\": \"unix:///x\"}'\n", `{"flushInterval": 5,  "host": "unix:///x"}`},
		{"block scalar keeps its newline", "    init_config: |\n      {\"batchSize\": 64}\n", "{\"batchSize\": 64}\n"},
		{"quoted null is the text null", "    init_config: \"null\"\n", "null"},
		{"a number scalar is its text", "    init_config: 1.50\n", "1.50"},
		// yaml_helper.h: an empty map assigns nothing to the json value: null.
		{"empty map", "    init_config: {}\n", "null"},
		// Map → object: keys sorted (std::map), compact dump.
		{"sorted, compact", "    init_config:\n      flushInterval: 5\n      batchSize: 64\n", `{"batchSize":64,"flushInterval":5}`},
		// Every scalar: int, else double, else bool, else string, whatever the quotes.
		{"quoted number is a number", "    init_config:\n      apiVersion: \"1.41\"\n", `{"apiVersion":1.41}`},
		{"1.40 loses its zero", "    init_config:\n      apiVersion: 1.40\n", `{"apiVersion":1.4}`},
		{"single-quoted 1.50", "    init_config:\n      apiVersion: '1.50'\n", `{"apiVersion":1.5}`},
		{"quoted integer", "    init_config:\n      batchSize: \"64\"\n", `{"batchSize":64}`},
		{"quoted host stays a string", "    init_config:\n      host: \"unix:///var/run/docker.sock\"\n", `{"host":"unix:///var/run/docker.sock"}`},
		// convert<bool>: y/n yes/no true/false on/off, lower, UPPER or Capitalized.
		{"yes", "    init_config:\n      asyncExtraction: yes\n", `{"asyncExtraction":true}`},
		{"Off", "    init_config:\n      asyncExtraction: Off\n", `{"asyncExtraction":false}`},
		{"TRUE", "    init_config:\n      asyncExtraction: TRUE\n", `{"asyncExtraction":true}`},
		{"quoted on", "    init_config:\n      asyncExtraction: \"on\"\n", `{"asyncExtraction":true}`},
		{"y", "    init_config:\n      x: y\n", `{"x":true}`},
		{"N", "    init_config:\n      x: N\n", `{"x":false}`},
		{"mixed case is a string", "    init_config:\n      x: tRUE\n", `{"x":"tRUE"}`},
		// A null node inside a map stays null; an empty nested map or list too.
		{"key without value", "    init_config:\n      host:\n", `{"host":null}`},
		{"key ~", "    init_config:\n      host: ~\n", `{"host":null}`},
		{"quoted null in a map is a string", "    init_config:\n      host: \"null\"\n", `{"host":"null"}`},
		{"empty nested map", "    init_config:\n      tls: {}\n", `{"tls":null}`},
		{"empty list", "    init_config:\n      hosts: []\n", `{"hosts":null}`},
		{"nested map", "    init_config:\n      tls:\n        verify: false\n        ca: /c/ca.pem\n", `{"tls":{"ca":"/c/ca.pem","verify":false}}`},
		{"lists", "    init_config:\n      filters:\n        type: [container, network]\n        label: [\"team=blue\"]\n", `{"filters":{"label":["team=blue"],"type":["container","network"]}}`},
		{"list of mixed scalars", "    init_config:\n      hosts: [tcp://a:2376, 1234, true, 1.5]\n", `{"hosts":["tcp://a:2376",1234,true,1.5]}`},
		// convert<int>: stream with the dec flag unset: 0x hex, leading-0 octal, int32 only.
		{"hex", "    init_config:\n      x: 0x1F\n", `{"x":31}`},
		{"octal", "    init_config:\n      x: 017\n", `{"x":15}`},
		{"08 is no octal, so a double", "    init_config:\n      x: 08\n", `{"x":8.0}`},
		{"0o is YAML 1.2 octal, not yaml-cpp's", "    init_config:\n      x: 0o17\n", `{"x":"0o17"}`},
		{"plus sign", "    init_config:\n      x: +5\n", `{"x":5}`},
		{"int32 min", "    init_config:\n      x: -2147483648\n", `{"x":-2147483648}`},
		{"beyond int32 is a double", "    init_config:\n      x: 2147483648\n", `{"x":2147483648.0}`},
		{"3e9", "    init_config:\n      x: 3000000000\n", `{"x":3000000000.0}`},
		{"0xFFFFFFFF is beyond int32 and no double: a string", "    init_config:\n      x: 0xFFFFFFFF\n", `{"x":"0xFFFFFFFF"}`},
		{"trailing space is skipped", "    init_config:\n      x: \"64 \"\n", `{"x":64}`},
		{"leading space is not", "    init_config:\n      x: \" 64\"\n", `{"x":" 64"}`},
		{"underscores are not digits", "    init_config:\n      x: 1_000\n", `{"x":"1_000"}`},
		// Doubles: nlohmann's shortest form, ".0" on integral values, exponent outside its window.
		{"1e3", "    init_config:\n      x: 1e3\n", `{"x":1000.0}`},
		{"1.", "    init_config:\n      x: 1.\n", `{"x":1.0}`},
		{".5", "    init_config:\n      x: .5\n", `{"x":0.5}`},
		{"1e14", "    init_config:\n      x: 1e14\n", `{"x":100000000000000.0}`},
		{"1e15", "    init_config:\n      x: 1e15\n", `{"x":1e+15}`},
		{"0.0001", "    init_config:\n      x: 0.0001\n", `{"x":0.0001}`},
		{"0.00001", "    init_config:\n      x: 0.00001\n", `{"x":1e-05}`},
		{"1.5e300", "    init_config:\n      x: 1.5e300\n", `{"x":1.5e+300}`},
		{"-0.0", "    init_config:\n      x: -0.0\n", `{"x":-0.0}`},
		{"overflow is a string", "    init_config:\n      x: 1e400\n", `{"x":"1e400"}`},
		{"1e without digits is a string", "    init_config:\n      x: 1e\n", `{"x":"1e"}`},
		{".inf dumps as null", "    init_config:\n      x: .inf\n", `{"x":null}`},
		{"-.Inf dumps as null", "    init_config:\n      x: -.Inf\n", `{"x":null}`},
		{".nan dumps as null", "    init_config:\n      x: .NaN\n", `{"x":null}`},
		{"inf is a string", "    init_config:\n      x: inf\n", `{"x":"inf"}`},
		// Strings: nlohmann's escapes, UTF-8 as is.
		{"escapes", "    init_config:\n      x: \"a\\\"b\\\\c\\td\\n\\x01/\"\n", `{"x":"a\"b\\c\td\n\u0001/"}`},
		{"utf-8", "    init_config:\n      x: héllo <&>\n", `{"x":"héllo <&>"}`},
		// Keys: as<std::string>() of a null key is "null"; aliases are the anchored node.
		{"null key", "    init_config:\n      ~: 1\n", `{"null":1}`},
		{"number key stays text", "    init_config:\n      1.50: a\n", `{"1.50":"a"}`},
		{"alias", "    init_config:\n      a: &v [x]\n      b: *v\n", `{"a":["x"],"b":["x"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := DockerPluginYAML(c.yaml)
			got, err := FalcoInitConfig(doc, "docker")
			if err != nil {
				t.Fatalf("FalcoInitConfig:\n%s\n%v", doc, err)
			}
			if got != c.want {
				t.Errorf("init_config\n%s= %q, want %q", c.yaml, got, c.want)
			}
			// libsinsp stubs only the empty config.
			wantInit := c.want
			if wantInit == "" {
				wantInit = "{}"
			}
			if got, _ := InitConfigJSON(doc, "docker"); got != wantInit {
				t.Errorf("plugin_init gets %q, want %q", got, wantInit)
			}
		})
	}
}

func TestFalcoRefusesWhatItCannotConvert(t *testing.T) {
	for name, doc := range map[string]string{
		// as<std::string>() of a sequence: yaml-cpp's bad conversion.
		"init_config list": string(DockerPluginYAML("    init_config: [a]\n")),
		// plugin_config decode requires name and library_path.
		"no library_path": "plugins:\n  - name: docker\n    init_config: {}\n",
		"not a map":       "plugins:\n  - docker\n",
		"merge key":       string(DockerPluginYAML("    init_config:\n      <<: {a: 1}\n")),
	} {
		if got, err := FalcoInitConfig([]byte(doc), "docker"); err == nil {
			t.Errorf("%s: got %q, want an error", name, got)
		}
	}
	if _, err := FalcoInitConfig(DockerPluginYAML(""), "json"); err == nil || !strings.Contains(err.Error(), `"json"`) {
		t.Errorf("a missing plugin: %v", err)
	}
}

// The document can also be the plugins list alone or one of its items.
func TestPluginsDocumentForms(t *testing.T) {
	for _, doc := range []string{
		"- name: docker\n  library_path: libdocker.so\n  init_config: {batchSize: 8}\n",
		"name: docker\nlibrary_path: libdocker.so\ninit_config: {batchSize: 8}\n",
	} {
		got, err := InitConfigJSON([]byte(doc), "docker")
		if err != nil || got != `{"batchSize":8}` {
			t.Errorf("%s= %q, %v", doc, got, err)
		}
	}
}
