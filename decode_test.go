package main

import (
	"strings"
	"testing"
	"time"
)

// A container die event as daemons before API v1.52 send it (deprecated
// status/id/from present), with a label holding characters the daemon escapes.
const dieLine = `{"status":"die","id":"3f2a","from":"tool:1","Type":"container","Action":"die","Actor":{"ID":"3f2a","Attributes":{"exitCode":"137","image":"tool:1","name":"web","com.example.note":"a \u003cb\u003e \"q\" é"}},"scope":"local","time":1795550026,"timeNano":1795550026796334283}`

// dockerTime is docker.time of line, written as next_batch writes it: its
// timestamp is the time the reader parsed, which the decoder does not read.
func dockerTime(t *testing.T, line string) (time.Time, bool) {
	got := extractAll(t, newTestPlugin(t), newTestEvent(t, 1, []byte(line)))
	ts, ok := got["docker.time"].(time.Time)
	return ts, ok
}

func TestDecodeKeepsEveryValue(t *testing.T) {
	d := newDecodedEvent()
	d.decode(1, []byte(dieLine))
	if d.err != nil {
		t.Fatalf("decode: %v", d.err)
	}
	for name, got := range map[string]string{
		"status": d.str(d.status), "id": d.str(d.id), "from": d.str(d.fromSpan()),
		"Type": d.str(d.typ), "Action": d.str(d.action), "scope": d.str(d.scope), "Actor.ID": d.str(d.actorID),
	} {
		want := map[string]string{"status": "die", "id": "3f2a", "from": "tool:1", "Type": "container", "Action": "die", "scope": "local", "Actor.ID": "3f2a"}[name]
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if v, _ := d.attr("com.example.note"); v != `a <b> "q" é` {
		t.Errorf("escaped label = %q", v)
	}
	if v, ok := d.attr("exitCode"); !ok || v != "137" {
		t.Errorf("exitCode = %q %v", v, ok)
	}
	if _, ok := d.attr("signal"); ok {
		t.Errorf("absent attribute reported present")
	}
	// timeNano exceeds 2^53: a float would round it.
	if ts, ok := dockerTime(t, dieLine); !ok || !ts.Equal(time.Unix(0, 1795550026796334283)) {
		t.Errorf("timestamp = %d %v", ts.UnixNano(), ok)
	}
}

func TestDecodeDerivesDeprecatedKeys(t *testing.T) {
	// API v1.52 (Docker 29) no longer sends status, id and from.
	line := `{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"image":"tool:1","name":"web"}},"scope":"local","time":1,"timeNano":1000000001}`
	d := newDecodedEvent()
	d.decode(7, []byte(line))
	if got := d.str(d.status); got != "start" {
		t.Errorf("status = %q", got)
	}
	if got := d.str(d.id); got != "abc" {
		t.Errorf("id = %q", got)
	}
	if got := d.str(d.fromSpan()); got != "tool:1" {
		t.Errorf("from = %q", got)
	}
	// Not derived for types that never had them.
	d.decode(8, []byte(`{"Type":"network","Action":"create","Actor":{"ID":"n1","Attributes":{"name":"x"}},"time":2}`))
	if d.status.ok || d.id.ok || d.from.ok {
		t.Errorf("deprecated keys derived for a network event")
	}
	if ts, ok := dockerTime(t, `{"Type":"network","Action":"create","Actor":{"ID":"n1","Attributes":{"name":"x"}},"time":2}`); !ok || ts.UnixNano() != 2e9 {
		t.Errorf("timestamp from time = %d %v", ts.UnixNano(), ok)
	}
}

func TestDecodeReusesStateAcrossEvents(t *testing.T) {
	d := newDecodedEvent()
	d.decode(1, []byte(dieLine))
	d.decode(2, []byte(`{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{"driver":"local"}},"scope":"local","time":1,"timeNano":5}`))
	if _, ok := d.attr("exitCode"); ok {
		t.Errorf("attribute of the previous event leaked")
	}
	if d.status.ok {
		t.Errorf("status of the previous event leaked")
	}
	if v, _ := d.attr("driver"); v != "local" {
		t.Errorf("driver = %q", v)
	}
}

func TestDecodeMalformedLeavesEverythingAbsent(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{"Type":"container","Action":`, `{"Type":"container"`, `not json`,
	} {
		d := newDecodedEvent()
		d.decode(1, []byte(in))
		if d.err == nil {
			t.Errorf("decode(%.40q): no error", in)
		}
		if d.typ.ok || len(d.attrs) != 0 {
			t.Errorf("decode(%.40q): values kept from a malformed event", in)
		}
	}
}

func TestDecodeMalformedAttributesGiveNoAttribute(t *testing.T) {
	// With json-iterator's sloppy skipping (the Makefile's build tag) the
	// envelope survives and the attributes, parsed on demand, are found
	// malformed; strict skipping rejects the whole event. Either way no
	// attribute comes out of a malformed Attributes object.
	d := newDecodedEvent()
	d.decode(1, []byte(`{"Type":"container","Actor":{"ID":"x","Attributes":{"name":"web","a":`+strings.Repeat("[", 20000)+`}}}`))
	if _, ok := d.attr("name"); ok {
		t.Errorf("attribute kept from a malformed Attributes object")
	}
	if d.err == nil && d.str(d.typ) != "container" {
		t.Errorf("Type = %q", d.str(d.typ))
	}
}

func TestDecodeOddValueTypes(t *testing.T) {
	// Replay files written by other tools may carry numbers, nulls and
	// objects where the daemon writes strings.
	d := newDecodedEvent()
	d.decode(1, []byte(`{"Type":null,"Action":{"x":1},"Actor":{"ID":12,"Attributes":{"exitCode":3,"n":null,"o":{"a":"b"}}},"timeNano":"12"}`))
	if d.err != nil {
		t.Fatalf("decode: %v", d.err)
	}
	if d.typ.ok || d.action.ok {
		t.Errorf("null/object kept as a string")
	}
	if v, ok := d.attr("exitCode"); !ok || v != "3" {
		t.Errorf("numeric exitCode = %q %v", v, ok)
	}
	if _, ok := d.attr("n"); ok {
		t.Errorf("null attribute present")
	}
	if _, ok := dockerTime(t, `{"Type":null,"Action":{"x":1},"Actor":{"ID":12,"Attributes":{"exitCode":3,"n":null,"o":{"a":"b"}}},"timeNano":"12"}`); ok {
		t.Errorf("string timeNano accepted")
	}
}

func TestDecodeEmptyKeyDoesNotEndTheObject(t *testing.T) {
	d := newDecodedEvent()
	d.decode(1, []byte(`{"":"x","Type":"container","Actor":{"":"y","ID":"c","Attributes":{"":"z","name":"web"}},"timeNano":5}`))
	if d.err != nil || d.str(d.typ) != "container" || d.str(d.actorID) != "c" {
		t.Fatalf("decode: err %v, Type %q, Actor.ID %q", d.err, d.str(d.typ), d.str(d.actorID))
	}
	if v, ok := d.attr("name"); !ok || v != "web" {
		t.Errorf("name = %q %v", v, ok)
	}
	if ts, _ := dockerTime(t, `{"":"x","Type":"container","Actor":{"":"y","ID":"c","Attributes":{"":"z","name":"web"}},"timeNano":5}`); ts.UnixNano() != 5 {
		t.Errorf("timestamp = %d", ts.UnixNano())
	}
}

func TestDecodeAttributesKnownAndOther(t *testing.T) {
	for _, tc := range []struct{ desc, attrs string }{
		{"plain keys", `{"name":"first","name":"web","com.example.team":"blue","exitCode":"3"}`},
		// A key with an escaped quote cannot be taken as is: the struct
		// decode of the known attributes fails and the general parse serves.
		{"escaped key", `{"name":"first","a\"b":"q","name":"web","com.example.team":"blue","exitCode":"3"}`},
	} {
		d := newDecodedEvent()
		d.decode(1, []byte(`{"Type":"container","Action":"die","Actor":{"ID":"c","Attributes":`+tc.attrs+`}}`))
		if d.err != nil {
			t.Fatalf("%s: %v", tc.desc, d.err)
		}
		for key, want := range map[string]string{"name": "web", "com.example.team": "blue", "exitCode": "3"} {
			if v, ok := d.attr(key); !ok || v != want {
				t.Errorf("%s: %s = %q %v, want %q (the last of duplicates)", tc.desc, key, v, ok, want)
			}
		}
		if _, ok := d.attr("signal"); ok {
			t.Errorf("%s: signal present", tc.desc)
		}
	}
}

// docker.time is set only for an event that carries a time, as an integer:
// the timestamp of an event without one is when the plugin read it, not a
// time of the event.
func TestDockerTimeOnlyWhenTheEventHasOne(t *testing.T) {
	for line, want := range map[string]int64{
		`{"Type":"volume","Action":"create","time":3}`:       3e9,
		`{"Type":"volume","Action":"create","timeNano":3}`:   3,
		`{"Type":"volume","Action":"create"}`:                -1,
		`{"Type":"volume","Action":"create","timeNano":1.5}`: -1,
		`{"Type":"volume","Action":"create","time":"3"}`:     -1,
	} {
		ts, ok := dockerTime(t, line)
		switch {
		case want < 0 && ok:
			t.Errorf("%s: docker.time = %d, want unset", line, ts.UnixNano())
		case want >= 0 && (!ok || ts.UnixNano() != want):
			t.Errorf("%s: docker.time = %d %v, want %d", line, ts.UnixNano(), ok, want)
		}
	}
}
