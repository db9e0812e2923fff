package host

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// plug is the test plugin (testdata/plugin), built and loaded once: a process
// can hold only one Go c-shared library.
var plug *Plugin

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	so := filepath.Join(dir, "libtest.so")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", so, "./testdata/plugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building test plugin: %v\n%s", err, out)
		return 1
	}
	if plug, err = Load(so); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Field requests for the test plugin.
var (
	fieldN   = Field{ID: 0, Name: "test.n", Type: FTypeUint64}
	fieldS   = Field{ID: 1, Name: "test.s", Type: FTypeString}
	fieldArg = Field{ID: 2, Name: "test.arg", Type: FTypeString, ArgKey: "foo", ArgPresent: true}
)

func mustInit(t testing.TB, config string) *State {
	t.Helper()
	s, err := plug.Init(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Destroy)
	return s
}

func mustOpen(t testing.TB, s *State) *Instance {
	t.Helper()
	i, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.so")); err == nil || !strings.Contains(err.Error(), "dlopen") {
		t.Errorf("Load(missing file) = %v, want dlopen error", err)
	}
	// libc is already mapped, so this loads no new code; it has no plugin symbols.
	if _, err := Load("libc.so.6"); err == nil || !strings.Contains(err.Error(), "plugin_get_required_api_version") {
		t.Errorf("Load(libc) = %v, want missing symbol error", err)
	}
}

func TestInfo(t *testing.T) {
	got := plug.Info()
	want := Info{
		RequiredAPIVersion: got.RequiredAPIVersion,
		Version:            "0.1.0",
		Name:               "test",
		Description:        "host package test plugin",
		Contact:            "nobody@example.com",
		EventSource:        "test",
		ID:                 999,
	}
	if got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	if !strings.HasPrefix(got.RequiredAPIVersion, "3.") {
		t.Errorf("RequiredAPIVersion = %q, want 3.x", got.RequiredAPIVersion)
	}
	if schema, ok := plug.InitSchema(); !ok || !strings.Contains(schema, `"count"`) {
		t.Errorf("InitSchema() = %q, %v", schema, ok)
	}

	fields, err := ParseFields(plug.Fields())
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 {
		t.Fatalf("got %d fields, want 3: %s", len(fields), plug.Fields())
	}
	for k, want := range []FieldInfo{
		{Field: Field{ID: 0, Name: "test.n", Type: FTypeUint64}, Display: "Number", Desc: "The event number"},
		{Field: Field{ID: 1, Name: "test.s", Type: FTypeString}, Display: "Payload", Desc: "The event payload", Properties: []string{"conversation"}},
		{Field: Field{ID: 2, Name: "test.arg", Type: FTypeString}, Desc: "Echoes its key", ArgRequired: true, ArgIsKey: true},
	} {
		if fmt.Sprint(fields[k]) != fmt.Sprint(want) {
			t.Errorf("field %d = %+v, want %+v", k, fields[k], want)
		}
	}
}

func TestParseFieldsErrors(t *testing.T) {
	for _, in := range []string{`{`, `[{"name":"a","type":"float"}]`, `[{"type":"string"}]`} {
		if _, err := ParseFields(in); err == nil {
			t.Errorf("ParseFields(%s) succeeded", in)
		}
	}
}

func TestInitBadConfig(t *testing.T) {
	// A successful init/destroy first: the failing init below must still
	// destroy its error-carrying state cleanly.
	mustInit(t, "").Destroy()
	_, err := plug.Init(`{"count":"x"}`)
	if err == nil {
		t.Fatal("Init succeeded")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "plugin_init: ") || !strings.Contains(msg, "cannot unmarshal") {
		t.Errorf("error %q lacks the plugin text", msg)
	}
}

func TestOpenParams(t *testing.T) {
	s := mustInit(t, "")
	params, err := s.ListOpenParams()
	if err != nil || !strings.Contains(params, `"default"`) {
		t.Errorf("ListOpenParams() = %q, %v", params, err)
	}
	if _, err := s.Open("fail"); err == nil || !strings.Contains(err.Error(), `plugin_open: cannot open "fail"`) {
		t.Errorf("Open(fail) = %v", err)
	}
	if s.Metrics() != nil {
		t.Errorf("Metrics() = %v, want nil (the SDK exports no plugin_get_metrics)", s.Metrics())
	}
}

func TestCapture(t *testing.T) {
	const count = 5
	s := mustInit(t, fmt.Sprintf(`{"count":%d}`, count))
	inst := mustOpen(t, s)

	first := plug.evtNum.Load() + 1 // 1 unless an earlier test captured events
	var (
		rcs      []int32
		payloads []string
		clone    *Event
	)
	for n := 0; ; n++ {
		evts, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		rcs = append(rcs, rc)
		for k := range evts {
			e := &evts[k]
			idx := uint64(len(payloads))
			if e.Num != first+idx || e.Timestamp != idx+1 {
				t.Errorf("event %d: Num %d Timestamp %d, want %d and %d", idx, e.Num, e.Timestamp, first+idx, idx+1)
			}
			payloads = append(payloads, string(e.Data()))
			if got := s.EventToString(e); got != fmt.Sprintf("#%d event %d", e.Num, idx+1) {
				t.Errorf("EventToString = %q", got)
			}
		}
		if n == 0 {
			clone = evts[0].Clone()
		}
		if rc == SSPluginEOF || n > count {
			break
		}
	}
	want := []int32{SSPluginSuccess, SSPluginSuccess, SSPluginEOF} // batches of 2, 2, 1
	if fmt.Sprint(rcs) != fmt.Sprint(want) {
		t.Errorf("rcs = %v, want %v", rcs, want)
	}
	if got := strings.Join(payloads, ","); got != "event 1,event 2,event 3,event 4,event 5" {
		t.Errorf("payloads = %s", got)
	}
	if first == 1 && plug.evtNum.Load() != count {
		t.Errorf("event counter = %d, want %d", plug.evtNum.Load(), count)
	}

	// The plugin reused the memory of the first batch; the clone kept its copy.
	if got := string(clone.Data()); got != "event 1" || clone.Num != first || clone.Timestamp != 1 {
		t.Errorf("clone = %q #%d ts %d", got, clone.Num, clone.Timestamp)
	}
	if v, err := s.ExtractOne(clone, fieldS); err != nil || fmt.Sprint(v.Strings) != "[event 1]" {
		t.Errorf("ExtractOne(clone) = %+v, %v", v, err)
	}
	clone.Free()
	clone.Free()

	if evts, rc, err := inst.NextBatch(); len(evts) != 0 || rc != SSPluginEOF || err != nil {
		t.Errorf("NextBatch after EOF = %d events, rc %d, %v", len(evts), rc, err)
	}
	if pct, text, ok := inst.Progress(); !ok || pct != 100 || text != "5/5" {
		t.Errorf("Progress() = %v, %q, %v", pct, text, ok)
	}

	inst.Close()
	inst.Close()
	if _, rc, err := inst.NextBatch(); rc != SSPluginFailure || err == nil {
		t.Errorf("NextBatch after Close = rc %d, %v", rc, err)
	}
	if _, _, ok := inst.Progress(); ok {
		t.Error("Progress after Close reported ok")
	}
	s.Destroy()
	s.Destroy()
	if s.LastError() != "" {
		t.Errorf("LastError after Destroy = %q", s.LastError())
	}
	if _, err := s.Open(""); err == nil {
		t.Error("Open after Destroy succeeded")
	}
}

// TestFixups checks the libscap fix-ups NextBatch applies: the SDK leaves the
// plugin ID of events at 0 and, without SetTimestamp, ts at UINT64_MAX.
func TestFixups(t *testing.T) {
	s := mustInit(t, "")
	inst, err := s.Open("nots")
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	before := uint64(time.Now().UnixNano())
	evts, _, err := inst.NextBatch()
	after := uint64(time.Now().UnixNano())
	if err != nil || len(evts) == 0 {
		t.Fatalf("NextBatch: %d events, %v", len(evts), err)
	}
	for _, e := range evts {
		if e.Timestamp < before || e.Timestamp > after {
			t.Errorf("Timestamp %d not in [%d, %d]", e.Timestamp, before, after)
		}
		// | header (26B) | len_id (4B) | len_data (4B) | plugin ID (4B) | data |
		hdr := unsafe.Slice((*byte)(unsafe.Pointer(e.evt)), payloadOffset)
		if id := binary.NativeEndian.Uint32(hdr[payloadOffset-4:]); id != 999 {
			t.Errorf("plugin ID in event = %d, want 999", id)
		}
		if tid := binary.NativeEndian.Uint64(hdr[8:]); tid != ^uint64(0) {
			t.Errorf("tid = %d, want -1", tid)
		}
	}
}

func TestDestroyClosesInstances(t *testing.T) {
	s := mustInit(t, "")
	a, b := mustOpen(t, s), mustOpen(t, s)
	s.Destroy()
	for _, i := range []*Instance{a, b} {
		if _, _, err := i.NextBatch(); err != errClosed {
			t.Errorf("NextBatch after Destroy: %v, want %v", err, errClosed)
		}
	}
}

// firstEvent returns a clone of the first event of a new capture.
func firstEvent(t testing.TB, s *State) *Event {
	t.Helper()
	inst := mustOpen(t, s)
	evts, _, err := inst.NextBatch()
	if err != nil || len(evts) == 0 {
		t.Fatalf("NextBatch: %d events, %v", len(evts), err)
	}
	e := evts[0].Clone()
	t.Cleanup(e.Free)
	return e
}

func TestExtract(t *testing.T) {
	s := mustInit(t, "")
	e := firstEvent(t, s)

	x := s.NewExtractor([]Field{fieldN, fieldS, fieldArg})
	defer x.Free()
	for range 2 { // results are overwritten, not accumulated
		if rc, err := x.Extract(e); rc != SSPluginSuccess || err != nil {
			t.Fatalf("Extract = %d, %v", rc, err)
		}
		for k := range 3 {
			if x.Len(k) != 1 {
				t.Errorf("Len(%d) = %d, want 1", k, x.Len(k))
			}
		}
		if x.Uint64(0, 0) != e.Num || x.String(1, 0) != "event 1" || x.String(2, 0) != "foo" {
			t.Errorf("got %d %q %q, want %d %q %q", x.Uint64(0, 0), x.String(1, 0), x.String(2, 0), e.Num, "event 1", "foo")
		}
	}
	if _, err := x.Extract(nil); err == nil {
		t.Error("Extract(nil) succeeded")
	}

	for _, tc := range []struct {
		f    Field
		want Value
	}{
		{fieldN, Value{Present: true, Uint64s: []uint64{e.Num}}},
		{fieldS, Value{Present: true, Strings: []string{"event 1"}}},
		{fieldArg, Value{Present: true, Strings: []string{"foo"}}},
	} {
		v, err := s.ExtractOne(e, tc.f)
		if err != nil || fmt.Sprint(v) != fmt.Sprint(tc.want) {
			t.Errorf("ExtractOne(%s) = %+v, %v, want %+v", tc.f.Name, v, err, tc.want)
		}
	}

	bad := s.NewExtractor([]Field{{ID: 7, Name: "test.bad", Type: FTypeString}})
	defer bad.Free()
	if rc, err := bad.Extract(e); rc != SSPluginFailure || err == nil || !strings.Contains(err.Error(), "unknown field id 7") {
		t.Errorf("Extract(bad field) = %d, %v", rc, err)
	}

	x.Free()
	x.Free()
	if _, err := x.Extract(e); err != errFreed {
		t.Errorf("Extract after Free = %v", err)
	}
}

func TestNoAllocs(t *testing.T) {
	s := mustInit(t, `{"count":100000}`)
	inst := mustOpen(t, s)
	if a := testing.AllocsPerRun(100, func() { inst.NextBatch() }); a != 0 {
		t.Errorf("NextBatch: %v allocs/op, want 0", a)
	}
	e := firstEvent(t, s)
	x := s.NewExtractor([]Field{fieldN})
	defer x.Free()
	if a := testing.AllocsPerRun(100, func() { x.Extract(e); x.Uint64(0, 0) }); a != 0 {
		t.Errorf("Extract: %v allocs/op, want 0", a)
	}
}

// BenchmarkExtract measures one plugin_extract_fields call with num_fields=1,
// as libsinsp issues for each field of a rule condition. Allocations are
// those of the host process; the plugin's Go runtime is separate and its
// allocations are not counted.
func BenchmarkExtract(b *testing.B) {
	s := mustInit(b, "")
	e := firstEvent(b, s)
	for _, f := range []Field{fieldN, fieldS, fieldArg} {
		b.Run(f.Name, func(b *testing.B) {
			x := s.NewExtractor([]Field{f})
			defer x.Free()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := x.Extract(e); err != nil || x.Len(0) != 1 {
					b.Fatal(err)
				}
			}
		})
	}
}
