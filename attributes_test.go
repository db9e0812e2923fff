package main

import (
	"fmt"
	"testing"
	"unsafe"
)

// A label asked for by key is decoded by name from then on, in the same
// pass as the known attributes, with the last of duplicates winning; keys
// the daemon would write escaped, and keys past the bound, are found by the
// general parse. Every lookup gives what encoding/json would.
func TestAttributeLookupByNameAndGeneral(t *testing.T) {
	d := newDecodedEvent()
	attrs := `{"name":"web","com.example.team":"red","a\u003cb":"lt","a,b":"comma","-":"dash",` +
		`"com.example.team":"blue","image":"tool:1","x\"y":"q"}`
	for _, tc := range []struct {
		desc      string
		attrs     string
		wantState byNameState
	}{
		{"escaped quote in a key: the struct decode refuses, the general parse serves", attrs, byNameFailed},
		{"plain keys", `{"name":"web","com.example.team":"red","a\u003cb":"lt","a,b":"comma","-":"dash","com.example.team":"blue","image":"tool:1","équipe":"bleu","a b:c'd":"odd"}`, byNameOK},
	} {
		for evt := uint64(1); evt <= 2; evt++ { // the second event finds the keys in the layout
			d.decode(evt, []byte(`{"Type":"container","Action":"start","Actor":{"ID":"c","Attributes":`+tc.attrs+`}}`))
			want := map[string]string{"name": "web", "com.example.team": "blue", "a<b": "lt", "a,b": "comma", "-": "dash", "image": "tool:1"}
			if tc.wantState == byNameOK {
				want["équipe"], want["a b:c'd"] = "bleu", "odd"
			}
			// name first: the known layout is decoded, then grows.
			for _, key := range []string{"name", "com.example.team", "a<b", "a,b", "-", "image", "équipe", "a b:c'd"} {
				v, ok := d.attr(key)
				if _, present := want[key]; !present {
					if ok {
						t.Errorf("%s, event %d: %s = %q, want absent", tc.desc, evt, key, v)
					}
					continue
				}
				if !ok || v != want[key] {
					t.Errorf("%s, event %d: %s = %q %v, want %q", tc.desc, evt, key, v, ok, want[key])
				}
			}
			if v, ok := d.attr("com.example.absent"); ok {
				t.Errorf("%s: com.example.absent = %q, want absent", tc.desc, v)
			}
			if d.byNameState != tc.wantState {
				t.Errorf("%s, event %d: by-name decode state %d, want %d", tc.desc, evt, d.byNameState, tc.wantState)
			}
		}
	}
	for _, key := range []string{"com.example.team", "équipe", "a b:c'd"} {
		if _, ok := d.layout.index[key]; !ok {
			t.Errorf("%q is not decoded by name: layout %q", key, d.layout.keys)
		}
	}
	for _, key := range []string{"a<b", "a,b", "-"} {
		if _, ok := d.layout.index[key]; ok {
			t.Errorf("%q is decoded by name, but is not written as it is or reads as a tag option", key)
		}
	}
}

// Past maxExtraByName keys, lookups still find every attribute, through the
// general parse.
func TestAttributeLookupPastTheBound(t *testing.T) {
	d := newDecodedEvent()
	n := maxExtraByName + 10
	attrs := "{"
	for i := range n {
		attrs += fmt.Sprintf(`"label.%d":"v%d",`, i, i)
	}
	attrs += `"name":"web"}`
	d.decode(1, []byte(`{"Type":"container","Actor":{"ID":"c","Attributes":`+attrs+`}}`))
	for i := range n {
		key := fmt.Sprintf("label.%d", i)
		if v, ok := d.attr(key); !ok || v != fmt.Sprintf("v%d", i) {
			t.Fatalf("%s = %q %v", key, v, ok)
		}
	}
	if got, want := len(d.layout.keys), len(knownAttributeKeys)+maxExtraByName; got != want {
		t.Errorf("layout holds %d keys, want the bound %d", got, want)
	}
	if v, ok := d.attr("name"); !ok || v != "web" {
		t.Errorf("name = %q %v", v, ok)
	}
}

// The key of a lookup is a view of Falco's memory (the SDK's ArgKey), valid
// during the call only: the layout keeps a copy.
func TestAttributeLayoutKeepsItsOwnKeys(t *testing.T) {
	d := newDecodedEvent()
	d.decode(1, []byte(`{"Type":"container","Actor":{"ID":"c","Attributes":{"com.example.team":"blue","com.example.tram":"red"}}}`))
	falco := []byte("com.example.team")
	if v, ok := d.attr(unsafe.String(&falco[0], len(falco))); !ok || v != "blue" {
		t.Fatalf("com.example.team = %q %v", v, ok)
	}
	copy(falco, "com.example.tram") // Falco reuses its memory for the next key
	if _, ok := d.layout.index["com.example.team"]; !ok || d.layout.keys[len(d.layout.keys)-1] != "com.example.team" {
		t.Fatalf("the layout's key changed with Falco's memory: %q", d.layout.keys[len(knownAttributeKeys):])
	}
	d.decode(2, []byte(`{"Type":"container","Actor":{"ID":"c","Attributes":{"com.example.team":"green","com.example.tram":"red"}}}`))
	if v, ok := d.attr("com.example.team"); !ok || v != "green" {
		t.Errorf("com.example.team = %q %v, want green", v, ok)
	}
}
