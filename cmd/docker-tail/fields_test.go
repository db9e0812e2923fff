package main

import (
	"slices"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

func TestRulesFieldRefs(t *testing.T) {
	refs, err := rulesFieldRefs(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	// Fields that shipped rules test or print, with and without a key.
	for _, want := range []string{
		"docker.type", "docker.action", "docker.action.name", "docker.signal", "docker.exec.command",
		"docker.attributes.name", "docker.attributes[destination]", "docker.attributes[com.docker.compose.project]",
		"docker.daemon.name", "docker.node.availability.old",
	} {
		if !slices.Contains(refs, want) {
			t.Errorf("rulesFieldRefs: %s missing from %v", want, refs)
		}
	}
	// selectFields below fails on any reference that is not a field of the
	// plugin (a list or macro name, a dotted name inside a quoted value).

	table, err := host.ParseFields(plugin.Fields())
	if err != nil {
		t.Fatal(err)
	}
	fields, err := selectFields(table, append(refs, demoFields...))
	if err != nil {
		t.Fatalf("selectFields(shipped rules): %v", err)
	}
	var names []string
	for _, f := range fields {
		names = append(names, displayName(f))
	}
	for _, want := range []string{"type", "action", "signal", "exitcode", "health.status", "attributes[destination]"} {
		if !slices.Contains(names, want) {
			t.Errorf("selected fields %v: %s missing", names, want)
		}
	}
	if n := len(names); n != len(slices.Compact(slices.Clone(names))) {
		t.Errorf("selected fields %v: duplicates", names)
	}
}

func TestSelectFieldsErrors(t *testing.T) {
	table, err := host.ParseFields(plugin.Fields())
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"docker.no_such_field", "docker.type[key]", "docker.attributes"} {
		if _, err := selectFields(table, []string{ref}); err == nil {
			t.Errorf("selectFields(%q): no error", ref)
		}
	}
}
