package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Replay reads a JSON-lines file of Docker events: the lines the daemon
// writes on /events, or what `docker events --format '{{json .}}'` prints.
type Replay struct {
	path     string
	file     *os.File
	size     int64
	offset   atomic.Int64  // bytes consumed, for progress
	skipped  atomic.Uint64 // lines not delivered: malformed, empty or too large
	tooLarge atomic.Uint64 // of which above maxEventSize
	warn     func(msg string)
}

// OpenReplay opens path for replay. warn receives one message per skipped
// line, naming the file and line number.
func OpenReplay(path string, warn func(msg string)) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open replay file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat replay file: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("replay file %s is a directory", path)
	}
	return &Replay{path: path, file: f, size: st.Size(), warn: warn}, nil
}

// Progress is the fraction of the file consumed so far, in [0, 1].
func (r *Replay) Progress() float64 {
	if r.size <= 0 {
		return 1
	}
	return float64(r.offset.Load()) / float64(r.size)
}

// Skipped is the number of lines skipped as malformed, empty or too large.
func (r *Replay) Skipped() uint64 { return r.skipped.Load() }

// TooLarge is the number of lines skipped for exceeding maxEventSize.
func (r *Replay) TooLarge() uint64 { return r.tooLarge.Load() }

// Run copies every valid line into q, waiting for room, then finishes q
// (nil error at end of file). It closes the file before returning.
func (r *Replay) Run(ctx context.Context, q *Queue, maxEventSize int) {
	defer r.file.Close()
	split := newLineSplitter(&countingReader{r: r.file, n: &r.offset}, maxEventSize)
	for lineNo := 1; ; lineNo++ {
		line, err := split.next()
		switch {
		case errors.Is(err, ErrLineTooLong):
			r.tooLarge.Add(1)
			r.skip(lineNo, err.Error())
			continue
		case err == io.EOF:
			q.Finish(nil)
			return
		case err != nil:
			q.Finish(fmt.Errorf("read replay file %s: %w", r.path, err))
			return
		}
		line = bytes.TrimSpace(line)
		if reason := invalidEvent(line); reason != "" {
			r.skip(lineNo, reason)
			continue
		}
		if err := q.Put(ctx, line, TimeNano(line)); err != nil {
			q.Finish(err)
			return
		}
	}
}

func (r *Replay) skip(lineNo int, reason string) {
	r.skipped.Add(1)
	if r.warn != nil {
		r.warn(fmt.Sprintf("replay %s:%d: line skipped: %s", r.path, lineNo, reason))
	}
}

// invalidEvent says why line cannot be a Docker event, or "" if it can.
// It checks the shape only: a full JSON validation costs more than the
// rest of the replay path together (1.6 us for a 740-byte line), and an
// object that is malformed inside is still caught, once, when Falco
// extracts its fields (docker.events_undecodable). A raw NUL is refused: it
// would pass for the origin trailer of live events.
func invalidEvent(line []byte) string {
	switch {
	case len(line) == 0:
		return "empty line"
	case line[0] != '{' || line[len(line)-1] != '}':
		return "not a JSON object (truncated?)"
	case bytes.IndexByte(line, 0) >= 0:
		return "raw NUL byte"
	}
	return ""
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
