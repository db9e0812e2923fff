package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/falcosecurity/plugin-sdk-go/pkg/ptr"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/falco-docker/plugin/stream"
)

// instance is one open stream: the slab of event slots handed to Falco, the
// queue the readers fill, and the goroutines that fill it.
type instance struct {
	cfg      config
	registry *instanceRegistry // the plugin state's, for metrics and plugin_destroy

	// events is the slab the SDK hands to Falco on the next next_batch
	// (slabgrowth.go says which, and when each is allocated and freed).
	events    sdk.EventWriters
	regular   sdk.EventWriters // up to BatchSize slots; nil until a batch needs it
	step      sdk.EventWriters // one slot: the first batch, and one between two regular slabs
	outgrown  sdk.EventWriters // a regular slab replaced by a larger one, Falco may still read
	oversized sdk.EventWriters // one slot larger than EventSize, for the pending event
	pending   *stream.Line     // the event waiting for the oversized slab
	slots     int              // the size of the next regular slab

	// mu is held by NextBatch for its whole run, so that a Close arriving
	// from another thread frees nothing NextBatch is writing into.
	mu sync.Mutex

	queue     *stream.Queue
	replay    *stream.Replay      // nil when live
	followers []*stream.Follower  // one per daemon when live
	swarm     *stream.SwarmDedupe // shared by the followers; nil with one daemon or swarmDedupe off
	ctx       context.Context
	cancel    context.CancelFunc
	readers   sync.WaitGroup
	timer     *time.Timer
	done      error // the error or EOF returned once the queue is drained

	progressBuf ptr.StringBuffer
	trailer     []byte // scratch for the origin trailer

	delivered     atomic.Uint64
	deliveredSize atomic.Uint64
	oversizedN    atomic.Uint64 // events above eventSize, delivered whole
}

// The SDK's plugin_next_batch and plugin_get_progress find an instance's
// methods by type assertion at run time (plugin-sdk-go v0.8.3
// pkg/sdk/symbols/nextbatch, progress); these make a mismatch a compile
// error. plugin_close (lifecycle.go) calls Close as the SDK's does.
var (
	_ sdk.Events         = (*instance)(nil) // nextbatch: the slab to fill
	_ sdk.NextBatcher    = (*instance)(nil) // nextbatch
	_ sdk.Progresser     = (*instance)(nil) // progress (replay files)
	_ sdk.ProgressBuffer = (*instance)(nil) // progress
	_ sdk.Closer         = (*instance)(nil) // plugin_close
)

func newInstance(cfg config, queueSize int) (*instance, error) {
	step, err := newSlab(1, cfg.EventSize)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	return &instance{
		cfg:    cfg,
		events: step,
		step:   step,
		slots:  min(2, cfg.BatchSize),
		queue:  stream.NewQueue(queueSize, int64(cfg.QueueBytes)),
		ctx:    ctx,
		cancel: cancel,
		timer:  timer,
	}, nil
}

// run starts a reader goroutine that Close waits for.
func (inst *instance) run(reader func(ctx context.Context)) {
	inst.readers.Add(1)
	go func() {
		defer inst.readers.Done()
		reader(inst.ctx)
	}()
}

func (inst *instance) Events() sdk.EventWriters        { return inst.events }
func (inst *instance) SetEvents(evts sdk.EventWriters) { inst.events = evts }

// NextBatch fills evts with up to len(evts) events. It returns as soon as the
// batch is full or the queue is momentarily empty with events in the batch;
// with none, it waits up to flushInterval for one, then reports a timeout
// (sdk.ErrTimeout); a replay ends with sdk.ErrEOF.
//
// The lines come from the queue (stream/queue.go) that the readers fill
// (stream/follow.go live, stream/replay.go replay), each with the time its
// reader parsed; write copies each into a slot (slab.go). Falco then asks
// for the events' fields through plugin_extract_fields (extract_symbol.go).
func (inst *instance) NextBatch(_ sdk.PluginState, evts sdk.EventWriters) (int, error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	inst.freeDone(evts)
	if inst.pending != nil {
		return inst.deliverPending(evts)
	}
	if inst.done != nil {
		return 0, inst.done
	}
	n, err := inst.fill(evts)
	if err == nil {
		if gerr := inst.grow(evts, n); gerr != nil && inst.done == nil {
			inst.done = gerr // after this batch, as an error of the queue
		}
	}
	return n, err
}

// fill writes up to len(evts) events into evts; NextBatch says when it
// returns.
func (inst *instance) fill(evts sdk.EventWriters) (int, error) {
	n := 0
	armed := false
	defer func() {
		if armed {
			inst.timer.Stop()
		}
	}()
	for n < evts.Len() {
		var line *stream.Line
		var ok bool
		select {
		case line, ok = <-inst.queue.Lines():
		default:
			if n > 0 {
				// Nothing more right now: hand over what there is rather
				// than hold it back (under load batches fill by themselves).
				return n, nil
			}
			if !armed {
				inst.timer.Reset(inst.cfg.FlushInterval)
				armed = true
			}
			select {
			case line, ok = <-inst.queue.Lines():
			case <-inst.timer.C:
				armed = false
				return n, sdk.ErrTimeout
			case <-inst.ctx.Done():
				return n, sdk.ErrTimeout
			}
		}
		if !ok {
			inst.done = sdk.ErrEOF
			if err := inst.queue.Err(); err != nil && !errors.Is(err, context.Canceled) {
				inst.done = err
			}
			if n > 0 && inst.done != sdk.ErrEOF {
				return n, nil // hand over what we have; the error comes next call
			}
			return n, inst.done
		}
		if payloadSize(line) > inst.cfg.EventSize {
			return inst.deferOversized(n, line)
		}
		inst.write(evts, n, line)
		n++
	}
	return n, nil
}

// originSep separates the daemon's JSON from the origin trailer that live
// events carry: JSON NUL host NUL daemon-name. Valid JSON never holds a raw
// NUL, so the JSON stays byte for byte the daemon's, and a reader that stops
// at NUL sees only it.
const originSep = 0

// payloadSize is the size of line's event data, trailer included.
func payloadSize(line *stream.Line) int {
	if line.Origin == nil {
		return len(line.Data)
	}
	return len(line.Data) + 2 + len(line.Origin.Host) + len(line.Origin.Name)
}

// write copies line into slot i and recycles it.
func (inst *instance) write(evts sdk.EventWriters, i int, line *stream.Line) {
	inst.trailer = inst.trailer[:0]
	if o := line.Origin; o != nil {
		inst.trailer = append(append(append(append(inst.trailer, originSep), o.Host...), originSep), o.Name...)
	}
	ts := line.TimeNano
	if ts <= 0 {
		ts = time.Now().UnixNano()
	}
	writeSlot(evts, i, uint64(ts), line.Data, inst.trailer)
	inst.delivered.Add(1)
	inst.deliveredSize.Add(uint64(len(line.Data)))
	inst.queue.Release(line)
}

// deferOversized ends the current batch before line, which does not fit a
// regular slot, and sets a one-slot slab large enough for it as the slab of
// the next call. The SDK reads the slab before calling NextBatch, so the swap
// can only take effect from the next call on.
func (inst *instance) deferOversized(n int, line *stream.Line) (int, error) {
	size := int64(inst.cfg.EventSize)
	for size < int64(payloadSize(line)) {
		size *= 2
	}
	big, err := newSlab(1, int(size))
	if err != nil {
		return n, fmt.Errorf("oversized event: %w", err)
	}
	inst.oversized = big
	inst.events = big
	inst.pending = line
	inst.oversizedN.Add(1)
	if n == 0 {
		return 0, sdk.ErrTimeout
	}
	return n, nil
}

// deliverPending hands the oversized event over in its own slab, then puts
// the regular slab back for the following call. evts is that slab:
// deferOversized made it the one Events returns, and the SDK's
// plugin_next_batch passes NextBatch what Events returns
// (plugin-sdk-go v0.8.3 pkg/sdk/symbols/nextbatch).
func (inst *instance) deliverPending(evts sdk.EventWriters) (int, error) {
	inst.write(evts, 0, inst.pending)
	inst.pending = nil
	inst.events = inst.batchSlab()
	return 1, nil
}

// Close stops the readers and frees the slabs the SDK does not free itself
// (it frees the one Events returns).
// It is idempotent.
func (inst *instance) Close() {
	if inst.registry != nil {
		inst.registry.remove(inst)
	}
	inst.stop()
	inst.mu.Lock()
	defer inst.mu.Unlock()
	inst.timer.Stop()
	for _, slab := range []sdk.EventWriters{inst.regular, inst.step, inst.outgrown, inst.oversized} {
		if slab != nil && slab != inst.events {
			slab.Free()
		}
	}
	inst.regular, inst.step, inst.outgrown, inst.oversized = nil, nil, nil, nil
	inst.progressBuf.Free()
}

// stop ends the readers and the queue; a blocked NextBatch returns. It is
// idempotent.
func (inst *instance) stop() {
	inst.cancel() // wakes a blocked NextBatch and stops the readers
	inst.readers.Wait()
	inst.queue.Finish(context.Canceled) // a no-op when a replay already ended it
}

// discard releases an instance that open failed to hand over to the SDK,
// including the slab the SDK would otherwise free.
func (inst *instance) discard() {
	events := inst.events
	inst.Close()
	events.Free()
}

// Progress reports how much of a replay file has been read.
func (inst *instance) Progress(_ sdk.PluginState) (float64, string) {
	if inst.replay == nil {
		return 0, ""
	}
	pct := inst.replay.Progress()
	return pct, fmt.Sprintf("%.2f%%", pct*100)
}

func (inst *instance) ProgressBuffer() sdk.StringBuffer { return &inst.progressBuf }
