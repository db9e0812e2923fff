package stream

import (
	"context"
	"sync"
	"sync/atomic"
)

// Queue is the bounded hand-off between readers (one goroutine per daemon, or
// the replay file) and the single consumer. Lines are recycled through a free
// list so that the steady state allocates nothing.
type Queue struct {
	lines chan *Line
	free  chan *Line

	overflows atomic.Uint64 // lines a live reader could not enqueue

	finishOnce sync.Once
	err        error // why the producers stopped; read only after lines is closed
}

// NewQueue returns a queue holding at most size lines.
func NewQueue(size int) *Queue {
	return &Queue{
		lines: make(chan *Line, size),
		free:  make(chan *Line, size),
	}
}

// Lines is the channel the consumer receives from. It is closed once the
// producers have finished and every queued line has been received.
func (q *Queue) Lines() <-chan *Line { return q.lines }

// Err tells why the producers finished (nil for a clean end of input). Only
// meaningful after Lines is closed.
func (q *Queue) Err() error { return q.err }

// Overflows is the number of lines dropped because the queue was full.
func (q *Queue) Overflows() uint64 { return q.overflows.Load() }

// newLine returns a recycled line, or a new one, holding a copy of data.
func (q *Queue) newLine(data []byte, origin *Origin) *Line {
	var l *Line
	select {
	case l = <-q.free:
	default:
		l = new(Line)
	}
	l.Data = append(l.Data[:0], data...)
	l.TimeNano = TimeNano(l.Data)
	l.Origin = origin
	return l
}

// Offer enqueues a copy of data without ever blocking: a live reader must keep
// draining the daemon, which silently drops subscribers that fall behind. A
// full queue counts an overflow and returns false.
func (q *Queue) Offer(data []byte, origin *Origin) bool {
	l := q.newLine(data, origin)
	select {
	case q.lines <- l:
		return true
	default:
		q.overflows.Add(1)
		q.Release(l)
		return false
	}
}

// Put enqueues a copy of data, waiting for room: a replay file loses nothing
// by waiting for its consumer.
func (q *Queue) Put(ctx context.Context, data []byte) error {
	l := q.newLine(data, nil)
	select {
	case q.lines <- l:
		return nil
	case <-ctx.Done():
		q.Release(l)
		return ctx.Err()
	}
}

// Release gives a line back once its bytes have been copied out.
func (q *Queue) Release(l *Line) {
	if cap(l.Data) > maxRecycledCap {
		return
	}
	select {
	case q.free <- l:
	default:
	}
}

// Finish records why the producers stopped and closes Lines. It must be
// called once every producer has stopped putting lines; later calls are no-ops.
func (q *Queue) Finish(err error) {
	q.finishOnce.Do(func() {
		q.err = err
		close(q.lines)
	})
}

// Len is the number of lines waiting for the consumer.
func (q *Queue) Len() int { return len(q.lines) }
