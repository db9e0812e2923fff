package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// Extract serves one field of one event, from the source fieldDefs declares
// for it. The event is decoded once, on the first field asked of it; later
// fields of the same event read the cache. A field the event does not carry
// is left unset (Falco shows <NA>).
func (p *pluginState) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	ev, err := p.decoded(evt)
	if err != nil {
		return err
	}
	if ev.err != nil {
		return nil // counted once, by decoded
	}
	id := req.FieldID()
	if id >= numFields {
		return fmt.Errorf("unknown field ID %d", id)
	}
	f := &fieldDefs[id]
	switch f.from.kind {
	case fromEvent:
		if s := f.from.value(ev); s.ok && s.end > s.start {
			req.SetValue(ev.str(s))
		}
	case fromDerived:
		if v, ok := f.from.text(ev); ok {
			req.SetValue(v)
		}
	case fromAttribute:
		if v, ok := ev.attr(f.from.key); ok {
			req.SetValue(v)
		}
	case fromAttributeNumber:
		if v, ok := ev.attr(f.from.key); ok {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				req.SetValue(n)
			}
		}
	case fromArgAttribute:
		if !req.ArgPresent() || req.ArgKey() == "" {
			return fmt.Errorf("field %s needs a key argument, e.g. %s[name]", f.name, f.name)
		}
		if v, ok := ev.attr(req.ArgKey()); ok {
			req.SetValue(v)
		}
	case fromTime:
		// The time the reader parsed (stream.TimeNano), which next_batch
		// wrote as the event's timestamp.
		if ev.hasTime {
			req.SetValue(time.Unix(0, int64(evt.Timestamp())))
		}
	}
	return nil
}

// actionName is the action without its argument: exec_start for
// "exec_start: sh".
func actionName(d *decodedEvent) (string, bool) {
	action := d.str(d.action)
	if !d.action.ok || action == "" {
		return "", false
	}
	name, _, _ := strings.Cut(action, ": ")
	return name, true
}

// execCommand is the command of an exec_create or exec_start event.
func execCommand(d *decodedEvent) (string, bool) {
	action := d.str(d.action)
	if cmd, ok := strings.CutPrefix(action, "exec_create: "); ok {
		return cmd, true
	}
	return strings.CutPrefix(action, "exec_start: ")
}

// healthStatus is the status of a health_status event.
func healthStatus(d *decodedEvent) (string, bool) {
	return strings.CutPrefix(d.str(d.action), "health_status: ")
}

// decoded returns evt decoded, decoding it only if it is not the cached one:
// its bytes are read in place (eventData, pluginevent.go) and decoded by
// decode.go.
func (p *pluginState) decoded(evt sdk.EventReader) (*decodedEvent, error) {
	num := evt.EventNum()
	if p.cache.evtNum == num && num != 0 {
		return p.cache, nil
	}
	data, ok := eventData(evt)
	if !ok {
		return nil, fmt.Errorf("event %d is not a plugin event", num)
	}
	p.cache.decode(num, data)
	if p.cache.err != nil {
		p.undecodable.Add(1)
	}
	return p.cache, nil
}
