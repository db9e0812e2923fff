package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/falco-docker/plugin/internal/falcoyaml"
	"go.yaml.in/yaml/v3"
)

// yamlBlock matches a fenced ```yaml block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// expectedWarning marks a block that shows a warning on purpose: a YAML
// comment "# warns: TEXT" says the plugin must warn with TEXT.
var expectedWarning = regexp.MustCompile(`(?m)#\s*warns:\s*(.+)$`)

// Every YAML block of the docs must parse, and every docker plugin that a
// block declares in a Falco plugins list must start as Falco would start it:
// its init_config, converted as Falco converts it, passes the init schema
// and parseConfig, without warnings unless the block asks for them.
func TestReadmeYAMLBlocksWorkInFalco(t *testing.T) {
	schema := compileConfigSchema(t)
	plugins := 0
	for _, file := range []string{"README.md", "rules/README.md"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		blocks := yamlBlock.FindAllSubmatchIndex(raw, -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no yaml block", file)
		}
		for _, m := range blocks {
			block := raw[m[2]:m[3]]
			where := file + ":" + strconv.Itoa(1+strings.Count(string(raw[:m[2]]), "\n"))
			var doc yaml.Node
			if err := yaml.Unmarshal(block, &doc); err != nil {
				t.Errorf("%s: not YAML: %v", where, err)
				continue
			}
			var root map[string]any
			if doc.Decode(&root) != nil || root["plugins"] == nil {
				continue // rules, or anything else that is not a falco.yaml
			}
			declared, err := falcoyaml.Plugins(block)
			if err != nil {
				t.Errorf("%s: Falco would not read this plugins list: %v", where, err)
				continue
			}
			var want []string
			for _, w := range expectedWarning.FindAllSubmatch(block, -1) {
				want = append(want, string(w[1]))
			}
			for _, p := range declared {
				if p.Name != pluginName {
					continue
				}
				plugins++
				config := falcoyaml.PluginInitConfig(p.InitConfig)
				if err := validateConfig(schema, config); err != nil {
					t.Errorf("%s: Falco refuses init_config %s: %v", where, config, err)
				}
				_, warnings, err := parseConfig(config)
				if err != nil {
					t.Errorf("%s: plugin_init(%s): %v", where, config, err)
					continue
				}
				if len(warnings) != len(want) {
					t.Errorf("%s: plugin_init(%s) warns %q, the block expects %q", where, config, warnings, want)
					continue
				}
				for i := range want {
					if !strings.Contains(warnings[i], want[i]) {
						t.Errorf("%s: warning %q, the block expects %q", where, warnings[i], want[i])
					}
				}
			}
		}
	}
	if plugins == 0 {
		t.Error("no docker plugin declared in any yaml block of the docs")
	}
}
