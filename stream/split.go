package stream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrLineTooLong reports a line longer than the configured maximum; the line
// is skipped whole and reading goes on.
var ErrLineTooLong = errors.New("event larger than maxEventSize")

// lineSplitter reads newline-terminated lines of any length up to max,
// reusing one buffer: bufio.Scanner would stop for good at its limit.
type lineSplitter struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func newLineSplitter(r io.Reader, max int) *lineSplitter {
	return &lineSplitter{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its terminator. The slice is valid
// until the following call. A line over max bytes (counting a CR before
// the newline, which is trimmed) is consumed and reported as
// ErrLineTooLong; at the end of input it returns io.EOF (a last line without
// newline is still returned first).
func (s *lineSplitter) next() ([]byte, error) {
	s.buf = s.buf[:0]
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			size := len(s.buf) + len(chunk)
			if err == nil {
				size-- // the newline is not part of the line
			}
			if size > s.max {
				tooLong = true
				s.buf = s.buf[:0]
			} else if err == nil && len(s.buf) == 0 {
				// the whole line is in bufio's buffer: no copy
				return trimNewline(chunk), nil
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == nil:
			if tooLong {
				return nil, fmt.Errorf("%w (%d bytes max)", ErrLineTooLong, s.max)
			}
			return trimNewline(s.buf), nil
		case err == io.EOF && tooLong:
			return nil, fmt.Errorf("%w (%d bytes max)", ErrLineTooLong, s.max)
		case err == io.EOF && len(s.buf) > 0:
			return trimNewline(s.buf), nil
		default:
			return nil, err
		}
	}
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
