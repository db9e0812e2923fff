package main

import (
	"strings"
	"testing"
)

// Each row of fieldDefs is whole and agrees with itself: a unique docker.*
// name, the type its source produces, a key argument exactly for the field
// that reads the attribute its argument names, and what its source kind
// needs.
func TestFieldDefsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for id, f := range fieldDefs {
		if !strings.HasPrefix(f.name, "docker.") || seen[f.name] {
			t.Errorf("field %d: name %q is not a new docker.* name", id, f.name)
		}
		seen[f.name] = true
		if f.desc == "" {
			t.Errorf("%s: no description", f.name)
		}
		want := "string"
		switch f.from.kind {
		case fromAttributeNumber:
			want = "uint64"
		case fromTime:
			want = "abstime"
		}
		if f.typ != want {
			t.Errorf("%s: type %q, but its source gives a %s", f.name, f.typ, want)
		}
		if (f.arg == keyRequired) != (f.from.kind == fromArgAttribute) {
			t.Errorf("%s: a key argument goes with the attribute it names, and only with it", f.name)
		}
		switch f.from.kind {
		case fromEvent:
			if f.from.value == nil {
				t.Errorf("%s: no value to read", f.name)
			}
		case fromDerived:
			if f.from.text == nil {
				t.Errorf("%s: nothing to derive the value with", f.name)
			}
		case fromAttribute, fromAttributeNumber:
			if f.from.key == "" {
				t.Errorf("%s: no attribute key", f.name)
			}
		}
	}
}

// The attributes the fields read by a fixed key are all decoded by name in
// the first pass: extracting every field of every recorded event (and
// rendering it as evt.plugininfo does) adds no key to the layout.
func TestFieldAttributesAreDecodedByName(t *testing.T) {
	p := newTestPlugin(t)
	for i, line := range fixtureLines(t) {
		evt := newTestEvent(t, uint64(i+1), line)
		extractAll(t, p, evt)
		if _, err := p.String(evt); err != nil {
			t.Fatal(err)
		}
	}
	if p.cache.layout != knownAttributes {
		t.Errorf("the fields read attributes outside the known layout: %q", p.cache.layout.keys[len(knownAttributeKeys):])
	}
	for _, f := range fieldDefs {
		if f.from.key != "" {
			if _, ok := knownAttributes.index[f.from.key]; !ok {
				t.Errorf("%s: attribute %q is not decoded by name", f.name, f.from.key)
			}
		}
	}
}
