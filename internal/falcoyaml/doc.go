// Package falcoyaml reproduces, for tests, how Falco turns a plugin's
// init_config in falco.yaml into the string that reaches plugin_init. The
// plugin itself never imports it: it exists so that tests can feed the plugin
// exactly what a real Falco would.
//
// What it reproduces, with where each rule lives:
//
//   - falcosecurity/falco userspace/falco/configuration.h,
//     YAML::convert<falco_configuration::plugin_config>::decode: an absent or
//     YAML-null init_config leaves the config empty; a YAML map is converted
//     to JSON with YAML::convert<nlohmann::json>::decode and json.dump(); any
//     other node is read with as<std::string>() (a scalar's text as written,
//     quotes removed; a sequence fails with yaml-cpp's bad conversion).
//   - falcosecurity/falco userspace/falco/yaml_helper.h,
//     YAML::convert<nlohmann::json>::decode: map -> object, sequence -> array,
//     each scalar tried as int, then double, then bool, then string, whatever
//     its quoting; a null node (and an empty map or sequence, which assigns
//     nothing) stays the null the json value was constructed as.
//   - jbeder/yaml-cpp include/yaml-cpp/node/convert.h
//     (YAML_DEFINE_CONVERT_STREAMABLE): int and double are read with
//     std::stringstream, dec flag unset (so 0x1F is hex, 017 octal), no
//     leading whitespace, trailing whitespace allowed; .inf/.nan spellings
//     are special-cased. src/convert.cpp: bool is y/n, yes/no, true/false,
//     on/off in lower, UPPER or Capitalized case. src/singledocparser.cpp and
//     src/null.cpp: a plain scalar "", ~, null, Null or NULL is a null node.
//     The stream rules are libstdc++'s num_get (_M_extract_int with base 0,
//     _M_extract_float then strtod); operator>>(int&) fails outside int32.
//   - nlohmann/json: objects are std::map (keys sorted bytewise, last
//     duplicate wins); dump() is compact; doubles are written shortest
//     round-trip with ".0" added to integral values and an exponent outside
//     1e-5 < |x| < 1e15 (e.g. 1e+15, 1e-05); NaN and infinities dump as null;
//     strings escape ", \, \b \f \n \r \t and other control bytes as \u00xx.
//   - falcosecurity/libs userspace/libsinsp/plugin.cpp,
//     sinsp_plugin::validate_config_json_schema: for a plugin with a JSON
//     init schema an empty config is replaced by "{}" before validation, and
//     that replaced string is what plugin_init receives; any other string
//     (including "null") is passed unchanged.
//
// Not reproduced (an error says so): YAML merge keys (<<), and mapping keys
// that are themselves maps or sequences. Go's shortest float formatting is
// used where nlohmann uses Grisu2, which agree on every value a config holds.
package falcoyaml
