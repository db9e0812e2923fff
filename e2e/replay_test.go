package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

// fixturePath holds events recorded from real daemons by TestRecordFixture
// (go test ./e2e -run TestRecordFixture -record): never typed by hand.
const fixturePath = "testdata/events.jsonl"

func fixtureLines(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(fixturePath)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// checkFields extracts every field of the table from evt, one field per call
// as libsinsp does, and compares each with the oracle.
func checkFields(t testing.TB, s *host.State, evt *host.Event, line string) {
	t.Helper()
	want, err := expected(line)
	if err != nil {
		t.Fatalf("oracle cannot decode %s: %v", line, err)
	}
	checkFieldsWant(t, s, evt, line, want)
}

// checkFieldsWant is checkFields with the oracle's values given.
func checkFieldsWant(t testing.TB, s *host.State, evt *host.Event, line string, want map[string]any) {
	t.Helper()
	for name, f := range fields(t) {
		if f.ArgRequired {
			continue
		}
		v, err := s.ExtractOne(evt, f.Field)
		if err != nil {
			t.Fatalf("extract %s: %v", name, err)
		}
		w, present := want[name]
		switch {
		case !present && v.Present:
			t.Errorf("%s: set to %v%v, want unset, in %s", name, v.Strings, v.Uint64s, line)
		case present && !v.Present:
			t.Errorf("%s: unset, want %v, in %s", name, w, line)
		case present && f.Type == host.FTypeString && (len(v.Strings) != 1 || v.Strings[0] != w):
			t.Errorf("%s = %q, want %q", name, v.Strings, w)
		case present && f.Type != host.FTypeString && (len(v.Uint64s) != 1 || v.Uint64s[0] != w):
			t.Errorf("%s = %v, want %v", name, v.Uint64s, w)
		}
	}
	attrs := fields(t)["docker.attributes"]
	for key, val := range attributeKeys(line) {
		f := attrs.Field
		f.ArgKey, f.ArgPresent = key, true
		v, err := s.ExtractOne(evt, f)
		if err != nil || !v.Present || v.Strings[0] != val {
			t.Errorf("docker.attributes[%s] = %+v %v, want %q", key, v, err, val)
		}
	}
	f := attrs.Field
	f.ArgKey, f.ArgPresent = "no.such.attribute", true
	if v, err := s.ExtractOne(evt, f); err != nil || v.Present {
		t.Errorf("docker.attributes[no.such.attribute] = %+v %v, want unset", v, err)
	}
}

func TestReplayFixtureDeliversEveryEventWithItsFields(t *testing.T) {
	lines := fixtureLines(t)
	const batchSize = 7 // small, so that the fixture spans many batches
	s := initPlugin(t, fmt.Sprintf(`{"batchSize":%d}`, batchSize))
	inst := openPlugin(t, s, "file://"+mustAbs(t, fixturePath))
	got := readAll(t, inst, batchSize)
	if len(got) != len(lines) {
		t.Fatalf("delivered %d events, the fixture has %d", len(got), len(lines))
	}
	types := map[string]int{}
	for i, d := range got {
		if d.data != lines[i] {
			t.Fatalf("event %d: data differs from the fixture line:\n got %s\nwant %s", i, d.data, lines[i])
		}
		var ev struct {
			Type     string `json:"Type"`
			TimeNano uint64 `json:"timeNano"`
		}
		json.Unmarshal([]byte(lines[i]), &ev)
		if d.evt.Timestamp != ev.TimeNano {
			t.Errorf("event %d: timestamp %d, timeNano %d", i, d.evt.Timestamp, ev.TimeNano)
		}
		types[ev.Type]++
		checkFields(t, s, d.evt, lines[i])
	}
	t.Logf("fixture: %d events by type: %v", len(got), types)
	m := metricsOf(s)
	var bytes uint64
	for _, l := range lines {
		bytes += uint64(len(l))
	}
	if m["events_delivered"] != uint64(len(lines)) || m["bytes_delivered"] != bytes || m["replay_lines_skipped"] != 0 {
		t.Errorf("metrics %v: want %d events, %d bytes delivered, none skipped", m, len(lines), bytes)
	}
	for _, typ := range []string{"container", "image", "volume", "network", "daemon", "service", "node", "secret", "config"} {
		if types[typ] == 0 {
			t.Errorf("the fixture has no %s event", typ)
		}
	}
}

func TestReplayBadLinesAreSkippedNotFatal(t *testing.T) {
	lines := fixtureLines(t)[:3]
	const malformedInside = `{"Type":"container","Action"}`
	content := lines[0] + "\r\n" + // CRLF
		"\n" + // empty
		`{"Type":"container","Action":` + "\n" + // truncated
		"garbage\n" +
		lines[1] + "\n" +
		malformedInside + "\n" + // an object's shape, broken inside
		lines[2] // no final newline
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s := initPlugin(t, "")
	got := readAll(t, openPlugin(t, s, path), 256) // a bare path works too
	want := []string{lines[0], lines[1], malformedInside, lines[2]}
	if len(got) != len(want) {
		t.Fatalf("delivered %d events, want the 3 good lines and the malformed object", len(got))
	}
	for i, d := range got {
		if d.data != want[i] {
			t.Errorf("event %d = %s, want %s", i, d.data, want[i])
		}
	}
	// The malformed object reaches extraction: every field unset, counted
	// once however many fields are asked.
	for name, f := range fields(t) {
		if f.ArgRequired {
			continue
		}
		if v, err := s.ExtractOne(got[2].evt, f.Field); err != nil || v.Present {
			t.Errorf("%s of a malformed event: %+v %v, want unset", name, v, err)
		}
	}
	if m := metricsOf(s); m["replay_lines_skipped"] != 3 || m["events_delivered"] != 4 || m["events_undecodable"] != 1 {
		t.Errorf("metrics %v: want 3 lines skipped, 4 delivered, 1 undecodable", m)
	}
}

func TestReplayOversizedEventsAreDeliveredWhole(t *testing.T) {
	base := fixtureLines(t)[0]
	var ev map[string]any
	if err := json.Unmarshal([]byte(base), &ev); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, size := range []int{100, 70 << 10, 3 << 20, 200, 300 << 10, 300 << 10, 10} {
		attrs := ev["Actor"].(map[string]any)["Attributes"].(map[string]any)
		attrs["com.example.big"] = strings.Repeat(string(rune('a'+i)), size)
		b, _ := json.Marshal(ev)
		lines = append(lines, string(b))
	}
	path := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const batchSize = 4
	s := initPlugin(t, fmt.Sprintf(`{"batchSize":%d,"eventSize":65536}`, batchSize))
	got := readAll(t, openPlugin(t, s, path), batchSize)
	if len(got) != len(lines) {
		t.Fatalf("delivered %d events, want %d", len(got), len(lines))
	}
	for i, d := range got {
		if d.data != lines[i] {
			t.Errorf("event %d: %d bytes delivered, want %d", i, len(d.data), len(lines[i]))
		}
		checkFields(t, s, d.evt, lines[i])
	}
	if m := metricsOf(s); m["events_oversized"] != 4 {
		t.Errorf("docker.events_oversized = %d, want the 4 events above 64 KiB", m["events_oversized"])
	}
}

func mustAbs(t testing.TB, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
