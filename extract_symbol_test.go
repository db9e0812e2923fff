package main

import (
	"strings"
	"testing"

	"github.com/falcosecurity/plugin-sdk-go/pkg/cgo"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// newExtractTarget is a plugin state registered as plugin_init registers
// it (lifecycle.go): an extraction request pool and a cgo handle.
func newExtractTarget(t *testing.T) (*pluginState, cgo.Handle) {
	p := newTestPlugin(t)
	p.extractRequests = sdk.NewExtractRequestPool()
	h := cgo.NewHandle(p)
	t.Cleanup(func() {
		h.Delete()
		p.extractRequests.Free()
	})
	return p, h
}

// testPluginEvent writes line as a plugin event, laid out as next_batch
// hands it to Falco, and returns a pointer to its ss_plugin_event.
func testPluginEvent(t *testing.T, line string) *extractEvent {
	evts, err := sdk.NewEventWriters(1, int64(len(line)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(evts.Free)
	writeSlot(evts, 0, 1, []byte(line), nil)
	return &extractEvent{evts}
}

type extractEvent struct{ evts sdk.EventWriters }

func (e *extractEvent) call(ids ...uint32) *extractCall {
	return newExtractCall(slotPointer(e.evts, 0), ids...)
}

const extractTestLine = `{"status":"die","id":"c1","from":"img:1","Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"image":"img:1","name":"web"}},"scope":"local","time":1795550026,"timeNano":1795550026796334283}`

// plugin_extract_fields with no fields (num_fields 0, fields NULL) succeeds
// and touches nothing.
func TestExtractSymbolNoFields(t *testing.T) {
	p, h := newExtractTarget(t)
	c := testPluginEvent(t, extractTestLine).call()
	defer c.free()
	if rc := c.run(h); rc != sdk.SSPluginSuccess {
		t.Fatalf("rc %d (%v), want success", rc, p.LastError())
	}
	if err := p.LastError(); err != nil {
		t.Errorf("last error %v after an empty request", err)
	}
}

// Several fields in one call, as libsinsp may batch them: each gets its
// value, and a stale res_len of a field with no value is cleared.
func TestExtractSymbolFields(t *testing.T) {
	_, h := newExtractTarget(t)
	c := testPluginEvent(t, extractTestLine).call(fieldType, fieldAction, fieldExecCommand)
	defer c.free()
	c.setResLen(2, 7)
	if rc := c.run(h); rc != sdk.SSPluginSuccess {
		t.Fatalf("rc %d, want success", rc)
	}
	if c.resLen(0) != 1 || c.str(0) != "container" || c.resLen(1) != 1 || c.str(1) != "die" {
		t.Errorf("docker.type, docker.action: %d values, %d values", c.resLen(0), c.resLen(1))
	} else if c.resLen(2) != 0 {
		t.Errorf("docker.exec.command of a die event: %d values, want none", c.resLen(2))
	}
}

// An unknown field ID fails the call with the last error set, clears its
// res_len, and the state keeps serving.
func TestExtractSymbolUnknownField(t *testing.T) {
	p, h := newExtractTarget(t)
	evt := testPluginEvent(t, extractTestLine)
	for _, id := range []uint32{uint32(numFields), 1<<32 - 1} {
		c := evt.call(fieldType, id)
		c.setResLen(1, 7)
		rc := c.run(h)
		if rc != sdk.SSPluginFailure {
			t.Errorf("field ID %d: rc %d, want failure", id, rc)
		}
		if err := p.LastError(); err == nil || !strings.Contains(err.Error(), "unknown field ID") {
			t.Errorf("field ID %d: last error %v, want an unknown field ID error", id, err)
		}
		if c.resLen(1) != 0 {
			t.Errorf("field ID %d: res_len %d, want 0", id, c.resLen(1))
		}
		c.free()
	}
	c := evt.call(fieldAction)
	defer c.free()
	if rc := c.run(h); rc != sdk.SSPluginSuccess || c.resLen(0) != 1 || c.str(0) != "die" {
		t.Errorf("after the errors: rc %d, %d values", rc, c.resLen(0))
	}
}
