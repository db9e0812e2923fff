package stream

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Queue is the bounded hand-off between readers (one goroutine per daemon, or
// the replay file) and the single consumer. It is bounded twice: in lines,
// and in bytes, so that its memory does not depend on how large the events
// are (lines alone would let 4096 lines of a 64 MiB maxEventSize pin 256 GiB).
// Lines are recycled through a free list, itself bounded in bytes, so that
// the steady state allocates nothing.
//
// Every line the consumer receives must be given back with Release: a line
// counts against the byte budget from the moment it is queued until then.
type Queue struct {
	lines  chan *Line
	budget int64         // bytes the lines queued and not yet released may hold
	held   atomic.Int64  // bytes they hold now: buffer capacities + lineOverhead each
	room   chan struct{} // a token after each Release, for a Put waiting for room
	free   freeList

	overflows atomic.Uint64 // lines a live reader could not enqueue

	finishOnce sync.Once
	err        error // why the producers stopped; read only after lines is closed
}

// lineOverhead is what a line costs beyond its buffer: the Line itself and
// its slot in the channel.
const lineOverhead = int64(unsafe.Sizeof(Line{})) + int64(unsafe.Sizeof((*Line)(nil)))

// maxRecycledCap bounds the buffers kept for reuse: an occasional large
// event must not pin its buffer in the free list, nor make every small line
// that reuses it cost its whole capacity. Labelled containers' 5 KB events
// stay well below it.
const maxRecycledCap = 64 << 10

// NewQueue returns a queue holding at most size lines and, together, at most
// budget bytes (see Offer and Put for the one line that may exceed it). Its
// free list keeps at most budget/8 bytes of buffers for reuse.
func NewQueue(size int, budget int64) *Queue {
	return &Queue{
		lines:  make(chan *Line, size),
		budget: budget,
		room:   make(chan struct{}, 1),
		free:   freeList{limit: budget / 8},
	}
}

// Lines is the channel the consumer (the plugin instance's NextBatch,
// instance.go) receives from. It is closed once the producers have finished
// and every queued line has been received.
func (q *Queue) Lines() <-chan *Line { return q.lines }

// Err tells why the producers finished (nil for a clean end of input). Only
// meaningful after Lines is closed.
func (q *Queue) Err() error { return q.err }

// Overflows is the number of lines dropped because the queue was full, in
// lines or in bytes.
func (q *Queue) Overflows() uint64 { return q.overflows.Load() }

// Bytes is what the lines queued and not yet released hold: their buffers'
// capacity plus lineOverhead each.
func (q *Queue) Bytes() int64 { return q.held.Load() }

// FreeBytes is what the free list holds, counted as Bytes counts.
func (q *Queue) FreeBytes() int64 { return q.free.held() }

func lineCost(capacity int) int64 { return int64(capacity) + lineOverhead }

// reserve takes cost bytes of the budget. A queue that holds nothing takes
// any line, however large: a line above the whole budget (the budget may be
// below maxEventSize) then passes alone instead of never.
func (q *Queue) reserve(cost int64) bool {
	for {
		held := q.held.Load()
		if held > 0 && held+cost > q.budget {
			return false
		}
		if q.held.CompareAndSwap(held, held+cost) {
			return true
		}
	}
}

// take returns a line holding a copy of data and its time, its cost
// reserved, or nil when the budget has no room for it; nothing is allocated
// then.
func (q *Queue) take(data []byte, timeNano int64, origin *Origin) *Line {
	l := q.free.get()
	capacity := len(data)
	if l != nil && cap(l.Data) >= len(data) {
		capacity = cap(l.Data) // what the line will hold is the whole buffer
	}
	if !q.reserve(lineCost(capacity)) {
		q.free.put(l)
		return nil
	}
	if l == nil {
		l = new(Line)
	}
	if cap(l.Data) < len(data) {
		l.Data = make([]byte, 0, len(data)) // exactly the capacity reserved
	}
	l.Data = append(l.Data[:0], data...)
	l.TimeNano = timeNano
	l.Origin = origin
	return l
}

// Offer enqueues a copy of data, with timeNano, the time the reader parsed
// (TimeNano), without ever blocking: a live reader must keep draining the
// daemon, which silently drops subscribers that fall behind. A queue full in
// lines, or whose byte budget has no room for the line, counts an overflow
// and returns false.
func (q *Queue) Offer(data []byte, timeNano int64, origin *Origin) bool {
	l := q.take(data, timeNano, origin)
	if l == nil {
		q.overflows.Add(1)
		return false
	}
	select {
	case q.lines <- l:
		return true
	default:
		q.overflows.Add(1)
		q.Release(l)
		return false
	}
}

// Put enqueues a copy of data and its time, waiting for room in bytes, then
// in lines: a replay file loses nothing by waiting for its consumer. A line
// larger than the whole budget waits until the queue is empty, then passes
// alone.
func (q *Queue) Put(ctx context.Context, data []byte, timeNano int64) error {
	var l *Line
	for l = q.take(data, timeNano, nil); l == nil; l = q.take(data, timeNano, nil) {
		select {
		case <-q.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case q.lines <- l:
		return nil
	case <-ctx.Done():
		q.Release(l)
		return ctx.Err()
	}
}

// Release gives a line back once its bytes have been copied out: its bytes
// leave the budget and its buffer may be reused.
func (q *Queue) Release(l *Line) {
	q.held.Add(-lineCost(cap(l.Data)))
	select {
	case q.room <- struct{}{}:
	default: // a token is already waiting
	}
	q.free.put(l)
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

// freeList keeps released lines for reuse, up to limit bytes of them.
type freeList struct {
	mu    sync.Mutex
	lines []*Line
	bytes int64
	limit int64
}

// get returns a recycled line, or nil.
func (f *freeList) get() *Line {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.lines)
	if n == 0 {
		return nil
	}
	l := f.lines[n-1]
	f.lines[n-1] = nil
	f.lines = f.lines[:n-1]
	f.bytes -= lineCost(cap(l.Data))
	return l
}

// put keeps l for reuse unless its buffer is too large to recycle or the
// list is full; the garbage collector has it then.
func (f *freeList) put(l *Line) {
	if l == nil || cap(l.Data) > maxRecycledCap {
		return
	}
	l.Origin = nil
	cost := lineCost(cap(l.Data))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes+cost > f.limit {
		return
	}
	f.lines = append(f.lines, l)
	f.bytes += cost
}

func (f *freeList) held() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes
}
