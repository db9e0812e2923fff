package host

import (
	"encoding/json"
	"fmt"
)

// FieldInfo is one entry of a plugin's plugin_get_fields list: the Field to
// request it (ID is the index in the list; no argument set) plus the
// metadata libsinsp uses to validate and display it.
type FieldInfo struct {
	Field
	Desc        string
	Display     string
	ArgRequired bool
	ArgIsKey    bool
	ArgIsIndex  bool
	Properties  []string
}

var fieldTypes = map[string]FieldType{
	"uint64":  FTypeUint64,
	"string":  FTypeString,
	"reltime": FTypeRelTime,
	"abstime": FTypeAbsTime,
	"bool":    FTypeBool,
	"ipaddr":  FTypeIPAddr,
	"ipnet":   ftypeIPNet,
}

// ParseFields parses the JSON returned by plugin_get_fields (see
// Plugin.Fields). It fails on malformed JSON, a missing name or an unknown
// type.
func ParseFields(fieldsJSON string) ([]FieldInfo, error) {
	var raw []struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		IsList bool   `json:"isList"`
		Arg    struct {
			IsRequired bool `json:"isRequired"`
			IsIndex    bool `json:"isIndex"`
			IsKey      bool `json:"isKey"`
		} `json:"arg"`
		Display    string   `json:"display"`
		Desc       string   `json:"desc"`
		Properties []string `json:"properties"`
	}
	if err := json.Unmarshal([]byte(fieldsJSON), &raw); err != nil {
		return nil, fmt.Errorf("host: parsing fields: %w", err)
	}
	out := make([]FieldInfo, len(raw))
	for i, r := range raw {
		if r.Name == "" {
			return nil, fmt.Errorf("host: field %d has no name", i)
		}
		t, ok := fieldTypes[r.Type]
		if !ok {
			return nil, fmt.Errorf("host: field %s has unknown type %q", r.Name, r.Type)
		}
		out[i] = FieldInfo{
			Field:       Field{ID: uint32(i), Name: r.Name, Type: t, IsList: r.IsList},
			Desc:        r.Desc,
			Display:     r.Display,
			ArgRequired: r.Arg.IsRequired,
			ArgIsKey:    r.Arg.IsKey,
			ArgIsIndex:  r.Arg.IsIndex,
			Properties:  r.Properties,
		}
	}
	return out, nil
}
