package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/falco-docker/plugin/internal/host"
)

// demoFields are shown besides those the rules read: type and action head
// every line and the summary counts by action name; the rules test no exit
// code and no health status, but the generator makes events whose point is
// those values; and the generator's label tells its objects apart.
var demoFields = []string{
	"docker.type", "docker.action", "docker.action.name",
	"docker.exitcode", "docker.health.status", "docker.attributes[" + demoLabel + "]",
}

// fieldRefPattern finds a field reference in a condition or an output: a
// docker.* name, with an optional [argument], that starts a token (not the
// "docker." inside "com.docker.compose.project" or a quoted path).
var fieldRefPattern = regexp.MustCompile(`(?:^|[\s(%,!=])(docker\.[A-Za-z0-9_.]+(?:\[[^\]\s]+\])?)`)

// rulesFieldRefs returns the field references ("docker.type",
// "docker.attributes[destination]") in the conditions and outputs of the
// rules and macros of the Falco rules file at path, in order of first use.
func rulesFieldRefs(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the rules: %w", err)
	}
	var items []map[string]any
	if err := yaml.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("parse the rules %s: %w", path, err)
	}
	var refs []string
	for _, item := range items {
		for _, key := range []string{"condition", "output"} {
			text, _ := item[key].(string)
			for _, m := range fieldRefPattern.FindAllStringSubmatch(text, -1) {
				if ref := strings.TrimRight(m[1], "."); !slices.Contains(refs, ref) {
					refs = append(refs, ref)
				}
			}
		}
	}
	return refs, nil
}

// selectFields turns field references into extraction requests, in the
// order of the plugin's field table (the references to one field with an
// argument in order of first use). A reference unknown to the plugin is an
// error: the rules file and the plugin do not match.
func selectFields(table []host.FieldInfo, refs []string) ([]host.FieldInfo, error) {
	byName := map[string]host.FieldInfo{}
	for _, f := range table {
		byName[f.Name] = f
	}
	var out []host.FieldInfo
	for _, ref := range refs {
		name, arg, hasArg := strings.Cut(strings.TrimSuffix(ref, "]"), "[")
		f, ok := byName[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("field %s: not in the plugin's field table", ref)
		case hasArg && !f.ArgIsKey:
			return nil, fmt.Errorf("field %s: the plugin's %s takes no key", ref, name)
		case !hasArg && f.ArgRequired:
			return nil, fmt.Errorf("field %s: the plugin's %s needs an argument", ref, name)
		}
		if hasArg {
			f.ArgKey, f.ArgPresent = arg, true
		}
		if !slices.ContainsFunc(out, func(o host.FieldInfo) bool { return displayName(o) == displayName(f) }) {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b host.FieldInfo) int { return int(a.ID) - int(b.ID) })
	return out, nil
}

// allFields selects every field of the table that needs no argument, for
// when no rules file is given.
func allFields(table []host.FieldInfo) []host.FieldInfo {
	var out []host.FieldInfo
	for _, f := range table {
		if !f.ArgRequired {
			out = append(out, f)
		}
	}
	return out
}

// displayName is a field's name as a rule writes it, without "docker.".
func displayName(f host.FieldInfo) string {
	name := strings.TrimPrefix(f.Name, "docker.")
	if f.ArgPresent {
		name += "[" + f.ArgKey + "]"
	}
	return name
}
