package stream

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTimeNano(t *testing.T) {
	for in, want := range map[string]int64{
		`{"Type":"volume","time":1795550026,"timeNano":1795550026796334283}`:  1795550026796334283,
		`{"Type":"volume","time":1795550026,"timeNano":1795550026796334283 }`: 1795550026796334283,
		`{"timeNano":1795550026796334283,"Type":"volume","time":1795550026}`:  1795550026796334283,
		`{"Type":"volume","time":1795550026}`:                                 1795550026000000000,
		`{"Actor":{"Attributes":{"timeNano":"9"}},"timeNano":42}`:             42,
		`{"Actor":{"Attributes":{"x":"\"timeNano\":7}"}},"time":3}`:           3000000000,
		`{"Type":"volume"}`:                    0,
		`garbage "timeNano":`:                  0,
		`{"timeNano":99999999999999999999999}`: 0,
	} {
		if got := TimeNano([]byte(in)); got != want {
			t.Errorf("TimeNano(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // longer than bufio's buffer
	input := "a\r\n\n" + long + "\nbbbbbbbbbb\nlast"
	s := newLineSplitter(strings.NewReader(input), 400<<10)
	var got []string
	for {
		line, err := s.next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("next: %v", err)
			}
			break
		}
		got = append(got, string(line))
	}
	want := []string{"a", "", long, "bbbbbbbbbb", "last"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %d bytes %.10q, want %d bytes", i, len(got[i]), got[i], len(want[i]))
		}
	}

	// A line above the maximum is skipped whole and the next one survives.
	s = newLineSplitter(strings.NewReader(long+"\nok\n"+long), 1024)
	if _, err := s.next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("oversized line: %v", err)
	}
	if line, err := s.next(); err != nil || string(line) != "ok" {
		t.Fatalf("line after oversized: %q %v", line, err)
	}
	if _, err := s.next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("oversized last line: %v", err)
	}
}

func TestQueueOfferCountsOverflowInsteadOfBlocking(t *testing.T) {
	q := NewQueue(2, 1<<20)
	origin := &Origin{Host: "unix:///x.sock", Name: "x"}
	line := []byte(`{"timeNano":1}`)
	for i := 0; i < 5; i++ {
		q.Offer(line, TimeNano(line), origin)
	}
	if got := q.Overflows(); got != 3 {
		t.Errorf("overflows = %d, want 3", got)
	}
	q.Finish(nil)
	n := 0
	for l := range q.Lines() {
		if l.TimeNano != 1 || l.Origin != origin {
			t.Errorf("line = %+v", l)
		}
		q.Release(l)
		n++
	}
	if n != 2 {
		t.Errorf("received %d lines, want 2", n)
	}
}

func TestReplaySkipsBadLinesAndReportsThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	content := `{"Type":"volume","Action":"create","timeNano":1}` + "\r\n" +
		"\n" +
		`{"Type":"volume","Action":` + "\n" +
		`[1,2]` + "\n" +
		"{\"Type\":\"x\x00\"}" + "\n" +
		`  {"Type":"volume","Action":"destroy","timeNano":2}  ` + "\n" +
		strings.Repeat("y", 5000) + "\n" +
		`{"Type":"network","Action":"create","timeNano":3}` // no final newline
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	r, err := OpenReplay(path, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(1, 1<<20) // smaller than the file: Put must wait, not drop
	go r.Run(context.Background(), q, 4096)
	var got []string
	for l := range q.Lines() {
		got = append(got, string(l.Data))
		q.Release(l)
	}
	if q.Err() != nil {
		t.Fatalf("replay error: %v", q.Err())
	}
	want := []string{
		`{"Type":"volume","Action":"create","timeNano":1}`,
		`{"Type":"volume","Action":"destroy","timeNano":2}`,
		`{"Type":"network","Action":"create","timeNano":3}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Skipped() != 5 || len(warnings) != 5 {
		t.Fatalf("skipped %d, warnings %q", r.Skipped(), warnings)
	}
	for i, line := range []string{":2:", ":3:", ":4:", ":5:", ":7:"} {
		if !strings.Contains(warnings[i], path+line) {
			t.Errorf("warning %d = %q, want it to name %s", i, warnings[i], path+line)
		}
	}
	if p := r.Progress(); p != 1 {
		t.Errorf("progress at end = %v", p)
	}
	if q.Overflows() != 0 {
		t.Errorf("replay overflowed")
	}
}

func TestOpenReplayErrors(t *testing.T) {
	if _, err := OpenReplay(filepath.Join(t.TempDir(), "missing"), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenReplay(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}
