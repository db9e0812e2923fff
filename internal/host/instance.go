package host

/*
#include "cwrap.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"
	"unsafe"
)

// Return codes of the plugin API (ss_plugin_rc).
const (
	SSPluginSuccess      int32 = C.SS_PLUGIN_SUCCESS       // 0
	SSPluginFailure      int32 = C.SS_PLUGIN_FAILURE       // 1
	SSPluginTimeout      int32 = C.SS_PLUGIN_TIMEOUT       // -1
	SSPluginEOF          int32 = C.SS_PLUGIN_EOF           // 2
	SSPluginNotSupported int32 = C.SS_PLUGIN_NOT_SUPPORTED // 3
)

// pluginEventCode is PPME_PLUGINEVENT_E, the scap event type of plugin events.
const pluginEventCode = 322

// Instance is a capture session returned by plugin_open. It is not safe for
// concurrent use, except that Close may be called from any goroutine, even
// while NextBatch is blocked inside the plugin.
type Instance struct {
	s    *State
	h    C.uintptr_t   // ss_instance_t*
	evts []Event       // reused by NextBatch
	mu   sync.Mutex    // guards the fields below against a concurrent Close
	out  *C.host_batch // next_batch out-params; freed by whoever finishes last
	busy bool          // NextBatch is inside plugin_next_batch
	done bool          // Close has been called
}

var errClosed = errors.New("host: instance closed")

// NextBatch calls plugin_next_batch once and returns the batch, the raw
// SS_PLUGIN_* rc and, only for SS_PLUGIN_FAILURE, an error carrying
// plugin_get_last_error. As libscap does, the events are returned whatever
// the rc (SUCCESS, TIMEOUT, EOF...), each numbered from the Plugin-wide
// counter; plugin events get libscap's fix-ups: a zero plugin ID is set to
// the plugin's ID, tid is set to -1, and a timestamp of UINT64_MAX is
// replaced by the current time.
//
// The returned slice and events are views into plugin and host memory, valid
// until the next NextBatch or Close on i; the slice is reused between calls.
// Use Event.Clone to keep an event longer.
//
// After Close it returns (nil, SSPluginFailure, error). If Close runs while
// the call is in progress the batch is discarded, as the plugin may have
// freed it, and (nil, SSPluginEOF, nil) is returned.
func (i *Instance) NextBatch() ([]Event, int32, error) {
	i.mu.Lock()
	if i.done {
		i.mu.Unlock()
		return nil, SSPluginFailure, errClosed
	}
	i.busy = true
	out := i.out
	i.mu.Unlock()

	// No lock is held during the C call so that Close can interrupt it.
	out.nevts, out.evts = 0, nil
	rc := int32(C.host_next_batch(i.s.p.api, i.s.h, i.h, out))

	i.mu.Lock()
	i.busy = false
	if i.done {
		C.free(unsafe.Pointer(i.out))
		i.out = nil
		i.mu.Unlock()
		return nil, SSPluginEOF, nil
	}
	i.mu.Unlock()

	i.evts = i.evts[:0]
	if n := uint64(out.nevts); n > 0 && out.evts != nil {
		p := i.s.p
		num := p.evtNum.Add(n) - n
		for _, ev := range unsafe.Slice(out.evts, n) {
			num++
			fixup(ev, p.info.ID)
			i.evts = append(i.evts, Event{Num: num, Timestamp: uint64(ev.ts), evt: ev})
		}
	}
	if rc == SSPluginFailure {
		return i.evts, rc, i.s.err("plugin_next_batch")
	}
	return i.evts, rc, nil
}

// fixup applies to ev what libscap's source_plugin engine does to each event
// before handing it to libsinsp.
func fixup(ev *C.ss_plugin_event, id uint32) {
	if ev._type == pluginEventCode {
		// | header | len_id (4B) | len_data (4B) | plugin ID (4B) | data |
		pid := (*[4]byte)(unsafe.Add(unsafe.Pointer(ev), C.sizeof_ss_plugin_event+8))
		if id != 0 && binary.NativeEndian.Uint32(pid[:]) == 0 {
			binary.NativeEndian.PutUint32(pid[:], id)
		}
		ev.tid = C.uint64_t(^uint64(0))
	}
	if ev.ts == C.uint64_t(^uint64(0)) {
		ev.ts = C.uint64_t(time.Now().UnixNano())
	}
}

// Progress calls plugin_get_progress. pct is a percentage in [0, 100]; ok is
// false if the plugin does not export the symbol or i is closed.
func (i *Instance) Progress() (pct float64, text string, ok bool) {
	if i.s.p.api.get_progress == nil || i.closed() {
		return 0, "", false
	}
	var p C.uint32_t
	t := C.host_get_progress(i.s.p.api, i.s.h, i.h, &p)
	return float64(p) / 100, C.GoString(t), true
}

func (i *Instance) closed() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.done
}

// Close calls plugin_close. It is idempotent and may be called from another
// goroutine while NextBatch is blocked in the plugin, provided the plugin
// supports that; events returned by earlier NextBatch calls become invalid.
func (i *Instance) Close() {
	i.mu.Lock()
	if i.done {
		i.mu.Unlock()
		return
	}
	i.done = true
	i.mu.Unlock()

	C.host_close(i.s.p.api, i.s.h, i.h)

	i.mu.Lock()
	if !i.busy && i.out != nil { // else the in-flight NextBatch frees it
		C.free(unsafe.Pointer(i.out))
		i.out = nil
	}
	i.mu.Unlock()
	i.s.forget(i)
}
