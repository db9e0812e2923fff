package stream

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eventOfSize is a Docker-like line of exactly n bytes.
func eventOfSize(n int, i int) []byte {
	head := fmt.Sprintf(`{"Type":"container","Action":"create","Actor":{"ID":"%d","Attributes":{"pad":"`, i)
	tail := `"}},"scope":"local","time":1,"timeNano":1000000001}`
	return []byte(head + string(bytes.Repeat([]byte("x"), n-len(head)-len(tail))) + tail)
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A flood of large lines from live readers, faster than the consumer, is
// held within the byte budget, never in lines x line size: the rest counts
// as overflow and no reader ever waits.
func TestQueueOfferFloodStaysWithinByteBudget(t *testing.T) {
	const (
		budget    = 1 << 20
		lineSize  = 64 << 10 // 4096 of them would be 256 MiB
		producers = 2
		perReader = 2000
	)
	before := heapInuse()
	q := NewQueue(4096, budget)
	origin := &Origin{Host: "unix:///x.sock"}
	var accepted atomic.Uint64
	var maxHeld atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := eventOfSize(lineSize, p)
			for range perReader {
				if q.Offer(line, TimeNano(line), origin) {
					accepted.Add(1)
				}
				for {
					held, old := q.Bytes(), maxHeld.Load()
					if held <= old || maxHeld.CompareAndSwap(old, held) {
						break
					}
				}
			}
		}()
	}
	// The consumer takes lines as they come but releases none until the
	// flood is over, as when Falco stalls.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	var kept []*Line
	for flooding := true; flooding; {
		select {
		case l := <-q.Lines():
			kept = append(kept, l)
		case <-done:
			flooding = false
		}
	}
	during := heapInuse()

	offered := uint64(producers * perReader)
	if got := accepted.Load() + q.Overflows(); got != offered {
		t.Errorf("accepted %d + overflows %d = %d, want the %d offered", accepted.Load(), q.Overflows(), got, offered)
	}
	if q.Overflows() == 0 {
		t.Errorf("no overflow: the flood never filled the budget")
	}
	if maxHeld.Load() > budget {
		t.Errorf("the queue held %d bytes, above its budget of %d", maxHeld.Load(), budget)
	}
	if grown := int64(during) - int64(before); grown > 4*budget {
		t.Errorf("the heap grew by %d bytes during the flood, want within a few times the %d budget", grown, budget)
	}
	t.Logf("offered %d lines of %d bytes: %d accepted, %d overflows; held at most %d bytes (budget %d); heap in use grew by %d KiB",
		offered, lineSize, accepted.Load(), q.Overflows(), maxHeld.Load(), budget, (int64(during)-int64(before))>>10)

	for _, l := range kept {
		q.Release(l)
	}
	q.Finish(nil)
	for l := range q.Lines() {
		q.Release(l)
	}
	if q.Bytes() != 0 {
		t.Errorf("%d bytes still held once every line was released", q.Bytes())
	}
}

// A replay waits for room instead of dropping, and a line larger than the
// whole budget passes alone: it waits until the queue is empty, and holds
// the budget until released.
func TestQueuePutPassesLinesLargerThanTheBudget(t *testing.T) {
	const budget = 64 << 10
	q := NewQueue(16, budget)
	var want [][]byte
	for i := range 40 {
		size := 300
		if i%3 != 0 {
			size = 200 << 10 // three times the budget
		}
		want = append(want, eventOfSize(size, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	go func() {
		for _, line := range want {
			if err := q.Put(ctx, line, TimeNano(line)); err != nil {
				q.Finish(err)
				return
			}
		}
		q.Finish(nil)
	}()
	i := 0
	for l := range q.Lines() {
		if i >= len(want) || !bytes.Equal(l.Data, want[i]) {
			t.Fatalf("line %d: got %.60s", i, l.Data)
		}
		if cost := lineCost(cap(l.Data)); cost > budget && q.Bytes() != cost {
			t.Errorf("line %d (%d bytes, above the budget) shares the queue: %d bytes held", i, len(l.Data), q.Bytes())
		}
		q.Release(l)
		i++
	}
	if err := q.Err(); err != nil {
		t.Fatalf("replay did not complete: %v", err)
	}
	if i != len(want) || q.Overflows() != 0 {
		t.Errorf("received %d of %d lines, %d overflows", i, len(want), q.Overflows())
	}
}

// A live line larger than the budget is not lost for being large: it passes
// when the queue is empty, and overflows otherwise.
func TestQueueOfferLargerThanTheBudget(t *testing.T) {
	q := NewQueue(16, 64<<10)
	big := eventOfSize(100<<10, 1)
	if !q.Offer(big, 0, nil) {
		t.Fatalf("a line above the budget was refused by an empty queue")
	}
	if q.Offer(eventOfSize(300, 2), 0, nil) {
		t.Errorf("a line was queued beside one that holds the whole budget")
	}
	q.Release(<-q.Lines())
	if !q.Offer(eventOfSize(300, 3), 0, nil) || q.Overflows() != 1 {
		t.Errorf("after release: overflows %d, want 1", q.Overflows())
	}
}

// The free list keeps at most budget/8 bytes of buffers, none above
// maxRecycledCap, and with them the steady state allocates nothing.
func TestQueueFreeListIsBoundedInBytes(t *testing.T) {
	const budget = 1 << 20
	q := NewQueue(4096, budget)
	sizes := []int{400, 700, 5 << 10, 60 << 10, 200 << 10}
	var held []*Line
	for i := 0; q.Bytes() < budget/2; i++ {
		if !q.Offer(eventOfSize(sizes[i%len(sizes)], i), 0, nil) {
			t.Fatalf("offer %d refused with %d bytes held", i, q.Bytes())
		}
		held = append(held, <-q.Lines())
	}
	for _, l := range held {
		q.Release(l)
	}
	if free, limit := q.FreeBytes(), int64(budget/8); free > limit || free == 0 {
		t.Errorf("free list holds %d bytes after releasing %d lines, want (0, %d]", free, len(held), limit)
	}
	for l := q.free.get(); l != nil; l = q.free.get() {
		if cap(l.Data) > maxRecycledCap {
			t.Errorf("free list kept a %d-byte buffer", cap(l.Data))
		}
	}
	if q.FreeBytes() != 0 {
		t.Errorf("empty free list holds %d bytes", q.FreeBytes())
	}

	line := eventOfSize(700, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		q.Offer(line, 0, nil)
		q.Release(<-q.Lines())
	})
	if allocs != 0 {
		t.Errorf("offer and release allocate %v times per line in the steady state", allocs)
	}
}
