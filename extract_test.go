package main

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/falco-docker/plugin/stream"
)

// testRequest is an sdk.ExtractRequest that records the value set, for
// driving pluginState.Extract in-process (fuzzing, unit tests).
type testRequest struct {
	id     uint64
	arg    string
	argBuf []byte // what ArgKey returns a view of, as the SDK does of Falco's memory
	hasArg bool
	value  any    // as set; nil: not set. A string aliases the plugin's arena
	copied []byte // a string value's bytes, copied when set
}

func (r *testRequest) FieldID() uint64 { return r.id }
func (r *testRequest) FieldType() uint32 {
	switch fieldTable[r.id].Type {
	case "uint64":
		return sdk.FieldTypeUint64
	case "abstime":
		return sdk.FieldTypeAbsTime
	}
	return sdk.FieldTypeCharBuf
}
func (r *testRequest) Field() string                       { return fieldTable[r.id].Name }
func (r *testRequest) ArgIndex() uint64                    { return 0 }
func (r *testRequest) ArgPresent() bool                    { return r.hasArg }
func (r *testRequest) IsList() bool                        { return false }
func (r *testRequest) SetValueOffset(start, length uint32) {}
func (r *testRequest) SetPtr(unsafe.Pointer)               {}
func (r *testRequest) SetOffsetPtrs(_, _ unsafe.Pointer)   {}
func (r *testRequest) WantOffset() bool                    { return false }

// ArgKey returns a view of a buffer, as the SDK's is of Falco's memory: a
// plugin that keeps it past the call sees it change (see clobberArg).
func (r *testRequest) ArgKey() string {
	if r.arg == "" {
		return ""
	}
	r.argBuf = append(r.argBuf[:0], r.arg...)
	return unsafe.String(&r.argBuf[0], len(r.argBuf))
}

// clobberArg overwrites the buffer ArgKey's result viewed, as Falco may
// once the call has returned.
func (r *testRequest) clobberArg() {
	for i := range r.argBuf {
		r.argBuf[i] = '?'
	}
}

// SetValue copies a string's bytes, as the SDK does (into a C buffer it
// reuses): the plugin's strings alias its decode arena, which the next event
// reuses. Reusing the copy buffer keeps benchmarks free of allocations of
// their own.
func (r *testRequest) SetValue(v any) {
	if s, ok := v.(string); ok {
		r.copied = append(r.copied[:0], s...)
	}
	r.value = v
}

// got returns the value set, a string as copied when set; nil if none.
func (r *testRequest) got() any {
	if _, ok := r.value.(string); ok {
		return string(r.copied)
	}
	return r.value
}

// fieldIDOf returns the ID of the named field, as libsinsp finds it: its
// index in what plugin_get_fields serves.
func fieldIDOf(name string) uint32 {
	for id, f := range fieldTable {
		if f.Name == name {
			return uint32(id)
		}
	}
	panic("no field " + name)
}

// IDs of the fields tests name.
var (
	fieldType        = fieldIDOf("docker.type")
	fieldAction      = fieldIDOf("docker.action")
	fieldExecCommand = fieldIDOf("docker.exec.command")
)

// testEvent is one plugin event in the SDK's event memory, written as
// next_batch writes it (writeSlot, with the time the reader parsed,
// stream.TimeNano, as its timestamp) and read as Falco passes it to
// extraction: through an ss_plugin_event_input and the SDK's EventReader.
type testEvent struct {
	evts  sdk.EventWriters
	input eventInput
}

// eventInput is laid out as the C ss_plugin_event_input (plugin_types.h).
type eventInput struct {
	evt    unsafe.Pointer
	evtnum uint64
	evtsrc unsafe.Pointer
}

// writeTestEvent writes data as a plugin event; it is freed when t ends.
// A line with no time gets timestamp 0, where next_batch stamps the time it
// hands the event over.
func writeTestEvent(t testing.TB, data []byte) *testEvent {
	evts, err := sdk.NewEventWriters(1, int64(max(len(data), 1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(evts.Free)
	writeSlot(evts, 0, uint64(stream.TimeNano(data)), data, nil)
	return &testEvent{evts: evts, input: eventInput{evt: slotPointer(evts, 0)}}
}

// at returns the SDK's reader of e as event number num.
func (e *testEvent) at(num uint64) sdk.EventReader {
	e.input.evtnum = num
	return sdk.NewEventReader(unsafe.Pointer(&e.input))
}

// newTestEvent is data as event number num, read through the SDK.
func newTestEvent(t testing.TB, num uint64, data []byte) sdk.EventReader {
	return writeTestEvent(t, data).at(num)
}

// extractAll extracts every field of the table (and docker.attributes[key]
// for each key given) from one event, as Falco would one field per call.
func extractAll(t testing.TB, p *pluginState, evt sdk.EventReader, keys ...string) map[string]any {
	out := map[string]any{}
	for id := range fieldTable {
		req := &testRequest{id: uint64(id)}
		if fieldTable[id].Arg.IsKey {
			for _, k := range keys {
				req := &testRequest{id: uint64(id), arg: k, hasArg: true}
				if err := p.Extract(req, evt); err != nil {
					t.Fatalf("extract docker.attributes[%s]: %v", k, err)
				}
				req.clobberArg()
				if req.value != nil {
					out["docker.attributes["+k+"]"] = req.got()
				}
			}
			continue
		}
		if err := p.Extract(req, evt); err != nil {
			t.Fatalf("extract %s: %v", fieldTable[id].Name, err)
		}
		if req.value == nil {
			continue
		}
		out[fieldTable[id].Name] = req.got()
	}
	return out
}

func newTestPlugin(t testing.TB) *pluginState {
	p, err := newPluginState("", stderrLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Destroy)
	return p
}

// fixtureLines reads the recorded daemon events (e2e/testdata).
func fixtureLines(t testing.TB) [][]byte {
	f, err := os.Open("e2e/testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	return lines
}

func TestExtractValueTypes(t *testing.T) {
	p := newTestPlugin(t)
	line := []byte(`{"status":"die","id":"c1","from":"img:1","Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"137","image":"img:1","name":"web"}},"scope":"local","time":1795550026,"timeNano":1795550026796334283}` + "\x00unix:///var/run/docker.sock\x00node-1")
	got := extractAll(t, p, newTestEvent(t, 1, line), "name", "missing")
	for name, want := range map[string]any{
		"docker.exitcode":            uint64(137),
		"docker.attributes.exitcode": "137",
		"docker.time":                time.Unix(0, 1795550026796334283),
		"docker.host":                "unix:///var/run/docker.sock",
		"docker.daemon.name":         "node-1",
		"docker.attributes[name]":    "web",
		"docker.action.name":         "die",
	} {
		if got[name] != want {
			t.Errorf("%s = %#v, want %#v", name, got[name], want)
		}
	}
	for _, name := range []string{"docker.signal", "docker.exec.command", "docker.attributes[missing]", "docker.node.role.new"} {
		if v, ok := got[name]; ok {
			t.Errorf("%s = %#v, want unset", name, v)
		}
	}
}
