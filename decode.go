package main

import (
	"bytes"
	"strconv"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
)

// span locates a decoded value in decodedEvent.arena; a zero span with
// ok == false is an absent value.
type span struct {
	start, end int
	ok         bool
}

type attribute struct {
	key string
	val span
}

// decodedEvent is one Docker event decoded once (json-iterator) and kept for
// every field extracted from it. It is reused from event to event: values are
// copied into one arena and the attributes into one slice, so no map and no
// string per value is built per event.
type decodedEvent struct {
	evtNum uint64 // the event these values belong to; 0 = none
	err    error  // why the event could not be decoded

	arena                                         []byte
	host, daemonName                              span // from the origin trailer of live events
	status, id, from, typ, action, scope, actorID span
	time, timeNano                                int64
	hasTime, hasTimeNano                          bool
	attrs                                         []attribute

	iter     *jsoniter.Iterator // walks the event
	unescape *jsoniter.Iterator // decodes the rare string holding escapes

	// the iterator's callbacks, bound once rather than at every event
	onTop, onActor, onAttribute func(*jsoniter.Iterator, string) bool
}

func newDecodedEvent() *decodedEvent {
	d := &decodedEvent{
		arena:    make([]byte, 0, 4096),
		attrs:    make([]attribute, 0, 32),
		iter:     jsoniter.NewIterator(jsoniter.ConfigDefault),
		unescape: jsoniter.NewIterator(jsoniter.ConfigDefault),
	}
	d.onTop, d.onActor, d.onAttribute = d.topField, d.actorField, d.attributeField
	return d
}

func (d *decodedEvent) reset(evtNum uint64) {
	d.evtNum = evtNum
	d.err = nil
	d.arena = d.arena[:0]
	d.status, d.id, d.from, d.typ, d.action, d.scope, d.actorID = span{}, span{}, span{}, span{}, span{}, span{}, span{}
	d.host, d.daemonName = span{}, span{}
	d.time, d.timeNano, d.hasTime, d.hasTimeNano = 0, 0, false, false
	clear(d.attrs) // drop the key strings
	d.attrs = d.attrs[:0]
}

// decode fills d from data, the event's JSON object. On malformed input it
// records the error and leaves every value absent: extraction then reports
// no value instead of failing Falco's rule evaluation.
func (d *decodedEvent) decode(evtNum uint64, data []byte) {
	d.reset(evtNum)
	data, trailer, hasTrailer := bytes.Cut(data, []byte{originSep})
	iter := d.iter
	iter.ResetBytes(data)
	iter.Error = nil
	// ReadObjectCB, unlike ReadObject, tells an empty key from the end of
	// the object: a "" key must not end decoding early.
	iter.ReadObjectCB(d.onTop)
	if err := iter.Error; err != nil {
		d.reset(evtNum) // nothing of a malformed event is kept
		d.err = err
		return
	}
	d.deriveDeprecated()
	if hasTrailer {
		host, name, _ := bytes.Cut(trailer, []byte{originSep})
		d.host = d.keep(host)
		d.daemonName = d.keep(name)
	}
}

// keep copies b into the arena; empty is absent.
func (d *decodedEvent) keep(b []byte) span {
	if len(b) == 0 {
		return span{}
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return span{start: start, end: len(d.arena), ok: true}
}

// deriveDeprecated fills status, id and from the way daemons before API
// v1.52 (Docker 29) sent them, so that rules written on them keep working.
func (d *decodedEvent) deriveDeprecated() {
	typ := d.str(d.typ)
	if typ != "container" && typ != "image" {
		return
	}
	if !d.status.ok {
		d.status = d.action
	}
	if !d.id.ok {
		d.id = d.actorID
	}
	if !d.from.ok && typ == "container" {
		if v, ok := d.attrSpan("image"); ok {
			d.from = v
		}
	}
}

// topField decodes one top-level key's value.
func (d *decodedEvent) topField(iter *jsoniter.Iterator, key string) bool {
	switch key {
	case "status":
		d.status = d.readString()
	case "id":
		d.id = d.readString()
	case "from":
		d.from = d.readString()
	case "Type":
		d.typ = d.readString()
	case "Action":
		d.action = d.readString()
	case "scope":
		d.scope = d.readString()
	case "Actor":
		iter.ReadObjectCB(d.onActor)
	case "time":
		d.time, d.hasTime = d.readInt()
	case "timeNano":
		d.timeNano, d.hasTimeNano = d.readInt()
	default:
		iter.Skip()
	}
	return iter.Error == nil
}

func (d *decodedEvent) actorField(iter *jsoniter.Iterator, key string) bool {
	switch key {
	case "ID":
		d.actorID = d.readString()
	case "Attributes":
		iter.ReadObjectCB(d.onAttribute)
	default:
		iter.Skip()
	}
	return iter.Error == nil
}

func (d *decodedEvent) attributeField(iter *jsoniter.Iterator, key string) bool {
	if v := d.readString(); v.ok {
		d.attrs = append(d.attrs, attribute{key: key, val: v})
	}
	return iter.Error == nil
}

// readString copies the next value into the arena. Strings are stored
// unescaped; numbers and booleans keep their JSON text (some replay tools
// write exitCode as a number); null, objects and arrays are absent.
func (d *decodedEvent) readString() span {
	iter := d.iter
	switch iter.WhatIsNext() {
	case jsoniter.StringValue:
		start := len(d.arena)
		d.arena = iter.SkipAndAppendBytes(d.arena)
		raw := d.arena[start:]
		if len(raw) < 2 {
			return span{}
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			return span{start: start + 1, end: len(d.arena) - 1, ok: true}
		}
		s := d.unescape.ResetBytes(raw).ReadString()
		if d.unescape.Error != nil {
			d.unescape.Error = nil
			d.arena = d.arena[:start]
			return span{}
		}
		d.arena = append(d.arena[:start], s...)
		return span{start: start, end: len(d.arena), ok: true}
	case jsoniter.NumberValue, jsoniter.BoolValue:
		start := len(d.arena)
		d.arena = iter.SkipAndAppendBytes(d.arena)
		return span{start: start, end: len(d.arena), ok: true}
	default:
		iter.Skip()
		return span{}
	}
}

// readInt reads an integer exactly: timeNano exceeds 2^53, so no float may
// carry it. Anything else is absent.
func (d *decodedEvent) readInt() (int64, bool) {
	iter := d.iter
	if iter.WhatIsNext() != jsoniter.NumberValue {
		iter.Skip()
		return 0, false
	}
	start := len(d.arena)
	d.arena = iter.SkipAndAppendBytes(d.arena)
	v, err := strconv.ParseInt(string(d.arena[start:]), 10, 64)
	d.arena = d.arena[:start]
	return v, err == nil
}

// str returns the value of s. The string aliases the arena: it is valid
// until the next decode, which is as long as extraction needs it (the SDK
// copies values out).
func (d *decodedEvent) str(s span) string {
	if !s.ok || s.end <= s.start {
		return ""
	}
	return unsafe.String(&d.arena[s.start], s.end-s.start)
}

func (d *decodedEvent) attrSpan(key string) (span, bool) {
	for i := range d.attrs {
		if d.attrs[i].key == key {
			return d.attrs[i].val, true
		}
	}
	return span{}, false
}

// attr returns the attribute's value and whether the event has it.
func (d *decodedEvent) attr(key string) (string, bool) {
	s, ok := d.attrSpan(key)
	return d.str(s), ok
}

// timestamp returns the event time in nanoseconds.
func (d *decodedEvent) timestamp() (int64, bool) {
	switch {
	case d.hasTimeNano:
		return d.timeNano, true
	case d.hasTime:
		return d.time * 1e9, true
	}
	return 0, false
}
