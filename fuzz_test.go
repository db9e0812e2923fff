package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeAndExtract feeds arbitrary bytes as event data to the decoder
// and every field's extraction: no panic, no hang, and decoding is a pure
// function of the bytes even though its state is reused across events
// (extracting event A, then B, then A again gives A's values both times).
func FuzzDecodeAndExtract(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(line, []byte(`{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{"driver":"local"}},"timeNano":1}`))
	}
	big := `{"Type":"container","Action":"create","Actor":{"ID":"x","Attributes":{"big":"` + strings.Repeat("é", 1<<19) + `"}},"timeNano":9}`
	for _, odd := range []string{
		"", "{", "{}", "null", "[]", `{"Type":"container","Actor":{"Attributes":{"a":"\xff\xfe\u0000"}}}`,
		`{"timeNano":99999999999999999999999999,"time":-1}`, `{"Actor":{"ID":{"a":[1,2,{"b":null}]}}}`,
		`{"Type":"container","Action":"exec_start: ` + strings.Repeat("a", 5000) + `"}`,
		"{\"Type\":\"x\"}\x00host\x00name", "\x00\x00\x00", big,
		`{"Actor":{"Attributes":{"":"empty key","dup":"1","dup":"2"}}}`,
	} {
		f.Add([]byte(odd), []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		p := newTestPlugin(t)
		// Known keys, a label (decoded by name once asked for), and keys the
		// general parse serves (written escaped; a tag option).
		keys := []string{"name", "image", "exitCode", "dup", "com.docker.compose.project", "a<b", "a,b"}
		first := extractAll(t, p, newTestEvent(t, 1, a), keys...)
		extractAll(t, p, newTestEvent(t, 2, b), keys...)
		again := extractAll(t, p, newTestEvent(t, 3, bytes.Clone(a)), keys...)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("the same event decoded twice gives different fields:\n%v\n%v", first, again)
		}
		p.String(newTestEvent(t, 4, a))
	})
}
