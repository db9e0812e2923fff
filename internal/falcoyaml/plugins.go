package falcoyaml

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Plugin is one entry of falco.yaml's plugins list as Falco reads it
// (falco_configuration::plugin_config).
type Plugin struct {
	Name string
	// InitConfig is m_init_config: "" when init_config is absent or null,
	// the JSON dump of a YAML map, or a scalar's text as written.
	InitConfig string
}

// Plugins reads the plugins of a falco.yaml document. The document may also
// be a plugins list on its own, or a single item of it.
func Plugins(falcoYAML []byte) ([]Plugin, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(falcoYAML, &doc); err != nil {
		return nil, fmt.Errorf("falco.yaml: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("falco.yaml: empty document")
	}
	root := resolve(doc.Content[0])
	var items []*yaml.Node
	switch {
	case root.Kind == yaml.SequenceNode:
		items = root.Content
	case root.Kind == yaml.MappingNode && mapValue(root, "plugins") != nil:
		list := resolve(mapValue(root, "plugins"))
		if list.Kind != yaml.SequenceNode {
			return nil, errors.New("falco.yaml: plugins is not a list")
		}
		items = list.Content
	case root.Kind == yaml.MappingNode && mapValue(root, "name") != nil:
		items = []*yaml.Node{root}
	default:
		return nil, errors.New("falco.yaml: no plugins list")
	}
	plugins := make([]Plugin, 0, len(items))
	for i, item := range items {
		p, err := decodePlugin(resolve(item))
		if err != nil {
			return nil, fmt.Errorf("falco.yaml: plugins[%d]: %w", i, err)
		}
		plugins = append(plugins, p)
	}
	return plugins, nil
}

// FalcoInitConfig returns the init_config Falco reads for the named plugin,
// before libsinsp sees it.
func FalcoInitConfig(falcoYAML []byte, pluginName string) (string, error) {
	plugins, err := Plugins(falcoYAML)
	if err != nil {
		return "", err
	}
	var found []Plugin
	for _, p := range plugins {
		if p.Name == pluginName {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("falco.yaml: %d plugins named %q, want 1", len(found), pluginName)
	}
	return found[0].InitConfig, nil
}

// InitConfigJSON returns exactly the string that plugin_init of the named
// plugin receives, for a plugin that declares a JSON init schema (as this
// plugin does): Falco's conversion, then libsinsp's stub of "" to "{}".
func InitConfigJSON(falcoYAML []byte, pluginName string) (string, error) {
	s, err := FalcoInitConfig(falcoYAML, pluginName)
	return PluginInitConfig(s), err
}

// PluginInitConfig applies what libsinsp does to Falco's init_config before
// plugin_init when the plugin has a JSON init schema
// (sinsp_plugin::validate_config_json_schema stubs an empty config to "{}"
// and passes the stubbed string on).
func PluginInitConfig(falcoInitConfig string) string {
	if falcoInitConfig == "" {
		return "{}"
	}
	return falcoInitConfig
}

// decodePlugin is YAML::convert<falco_configuration::plugin_config>::decode.
func decodePlugin(n *yaml.Node) (Plugin, error) {
	if n.Kind != yaml.MappingNode {
		return Plugin{}, errors.New("not a map (yaml-cpp: bad conversion)")
	}
	name, lib := mapValue(n, "name"), mapValue(n, "library_path")
	if name == nil || lib == nil {
		return Plugin{}, errors.New("name and library_path are required (yaml-cpp: bad conversion)")
	}
	p := Plugin{Name: resolve(name).Value}
	ic := mapValue(n, "init_config")
	if ic == nil {
		return p, nil
	}
	ic = resolve(ic)
	switch {
	case ic.Kind == yaml.ScalarNode && isYAMLCppNull(ic):
		// absent or null: m_init_config stays empty
	case ic.Kind == yaml.MappingNode:
		v, err := toJSON(ic)
		if err != nil {
			return p, fmt.Errorf("init_config: %w", err)
		}
		var b strings.Builder
		if err := dump(&b, v); err != nil {
			return p, fmt.Errorf("init_config: %w", err)
		}
		p.InitConfig = b.String()
	case ic.Kind == yaml.ScalarNode:
		p.InitConfig = ic.Value // as<std::string>(): the text, quotes removed
	default:
		return p, errors.New("init_config: a sequence is neither a map nor a string (yaml-cpp: bad conversion)")
	}
	return p, nil
}

// toJSON is YAML::convert<nlohmann::json>::decode (falco userspace/falco/
// yaml_helper.h). A nil result is JSON null: a null node, and an empty map or
// sequence, never assign to the default-constructed json value.
func toJSON(n *yaml.Node) (*jsonValue, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		obj := &jsonValue{kind: jsonObject, object: map[string]*jsonValue{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a map or list as a key is not reproduced", k.Line)
			}
			if k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0 {
				return nil, fmt.Errorf("line %d: YAML merge keys are not reproduced", k.Line)
			}
			key := k.Value
			if isYAMLCppNull(k) {
				key = "null" // as<std::string>() of a null node
			}
			v, err := toJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			obj.object[key] = v // res[key] = sub: the last duplicate wins
		}
		return obj, nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		arr := &jsonValue{kind: jsonArray}
		for _, e := range n.Content {
			v, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			arr.array = append(arr.array, v)
		}
		return arr, nil
	case yaml.ScalarNode:
		if isYAMLCppNull(n) {
			return nil, nil
		}
		if i, ok := yamlCppInt(n.Value); ok {
			return &jsonValue{kind: jsonInt, int: i}, nil
		}
		if f, ok := yamlCppDouble(n.Value); ok {
			return &jsonValue{kind: jsonFloat, float: f}, nil
		}
		if b, ok := yamlCppBool(n.Value); ok {
			return &jsonValue{kind: jsonBool, bool: b}, nil
		}
		return &jsonValue{kind: jsonString, str: n.Value}, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

// resolve follows aliases: yaml-cpp hands out the anchored node itself.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mapValue is node[key] for a YAML map, nil when the key is absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := resolve(m.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
