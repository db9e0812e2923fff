package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

func fixtureLines(f *testing.F) [][]byte {
	raw, err := os.ReadFile("../e2e/testdata/events.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
}

// FuzzTimeNano: for any valid JSON object, the fast backwards search gives
// what a full decode of the top-level keys gives; for anything else it does
// not panic.
func FuzzTimeNano(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(line)
	}
	for _, s := range []string{`{"timeNano":5,"a":{"timeNano":7}}`, `{"a":{"timeNano":7},"timeNano":5}`, `{"timeNano":0,"time":3}`,
		`{"timeNano":-5,"time":3}`, `{"timeNano":1e9}`, `{"time":9223372037}`, `{"timeNano":5 ,"timeNano":6 }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := TimeNano(data)
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) != nil || top == nil {
			return
		}
		if got != wantTimeNano(top) {
			t.Fatalf("TimeNano(%s) = %d, want %d", data, got, wantTimeNano(top))
		}
	})
}

// wantTimeNano is the definition: top-level timeNano when a positive
// integer, else time (seconds) when a positive integer that fits, else 0.
func wantTimeNano(top map[string]json.RawMessage) int64 {
	integer := func(key string) (int64, bool) {
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(top[key]))
		d.UseNumber()
		if d.Decode(&n) != nil {
			return 0, false
		}
		v, err := n.Int64()
		return v, err == nil && !strings.ContainsAny(string(n), ".eE")
	}
	if v, ok := integer("timeNano"); ok && v > 0 {
		return v
	}
	if v, ok := integer("time"); ok && v > 0 && v < math.MaxInt64/int64(1e9) {
		return v * 1e9
	}
	return 0
}

// FuzzLineSplitter: the splitter returns exactly the newline-separated
// lines (CR LF accepted) of any input, and reports instead of returning
// those longer than the maximum.
func FuzzLineSplitter(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(append(append([]byte{}, line...), "\r\n{}\n"...), uint16(200))
	}
	f.Add([]byte("a\n\nbb\r\nccc"), uint16(2))
	f.Fuzz(func(t *testing.T, input []byte, max uint16) {
		limit := int(max) + 1
		s := newLineSplitter(bytes.NewReader(input), limit)
		var want, raw []string // lines as returned; as counted against the limit
		for _, l := range strings.SplitAfter(string(input), "\n") {
			if l != "" {
				want = append(want, string(trimNewline([]byte(l))))
				raw = append(raw, strings.TrimSuffix(l, "\n"))
			}
		}
		for i := 0; ; i++ {
			line, err := s.next()
			if err == io.EOF {
				if i != len(want) {
					t.Fatalf("%d lines, want %d", i, len(want))
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("extra line %q", line)
			}
			tooLong := len(raw[i]) > limit
			if errors.Is(err, ErrLineTooLong) != tooLong {
				t.Fatalf("line %d (%d bytes, max %d): error %v", i, len(raw[i]), limit, err)
			}
			if tooLong {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(line) != want[i] {
				t.Fatalf("line %d = %q, want %q", i, line, want[i])
			}
		}
	})
}
