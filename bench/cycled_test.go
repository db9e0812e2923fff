package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// The fixture cycled: BenchmarkPeakRSS/replay-100k's stream.
const (
	cycledLines  = 100_000   // its length
	cycledStepNs = 1_000_000 // its events are 1 ms apart
)

// timeKeys are an event's two timestamps, as the daemon writes them.
var timeKeys = regexp.MustCompile(`"time":\d+,"timeNano":\d+`)

// bigReplay returns a replay of cycledLines lines, written on first use:
// the fixture's lines in order, over and over, each with the timestamps of
// its place in the stream (cycledStepNs apart, from the fixture's first).
func bigReplay(b testing.TB) string {
	return replayFile(b, fmt.Sprintf("cycled-%d.jsonl", cycledLines), writeCycled)
}

func writeCycled(w *bufio.Writer) error {
	data, err := os.ReadFile(fixture)
	if err != nil {
		return err
	}
	var lines [][]byte
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if !timeKeys.Match(line) {
				return fmt.Errorf("%s: a line without \"time\",\"timeNano\": %s", fixture, line)
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("%s: no event", fixture)
	}
	_, nano, _ := bytes.Cut(timeKeys.Find(lines[0]), []byte(`"timeNano":`))
	first, err := strconv.ParseInt(string(nano), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: first timeNano: %w", fixture, err)
	}
	for i := range cycledLines {
		ns := first + int64(i)*cycledStepNs
		stamp := fmt.Appendf(nil, `"time":%d,"timeNano":%d`, ns/1e9, ns)
		w.Write(timeKeys.ReplaceAllLiteral(lines[i%len(lines)], stamp))
		w.WriteByte('\n')
	}
	return nil
}
