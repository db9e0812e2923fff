package main

import (
	"bytes"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/modern-go/reflect2"
)

// span locates a decoded value in decodedEvent.arena; ok is false for an
// absent value.
type span struct {
	start, end int
	ok         bool
}

// decodedEvent is one Docker event decoded once (json-iterator) and kept for
// every field extracted from it. It is reused from event to event: values are
// copied into one arena, so no map and no string per value is built.
//
// The envelope is decoded into wireEvent by json-iterator's struct decoder,
// which matches the fixed keys by hash without allocating. The attributes
// (most of an event's bytes: every container label) are captured whole and
// decoded on the first attribute field asked of the event (attributes.go):
// rules that stop at docker.type or docker.action never pay for them.
type decodedEvent struct {
	evtNum uint64 // the event these values belong to; 0 = none
	err    error  // why the event could not be decoded

	arena                                         []byte
	status, id, from, typ, action, scope, actorID span
	host, daemonName                              span // from the origin trailer of live events
	// hasTime tells whether the event carries a time (timeNano or time, as
	// an integer). Its value is not read here: the reader parsed it once
	// (stream.TimeNano) and next_batch made it the event's timestamp, which
	// is what docker.time reads (extract.go).
	hasTime bool

	attrsRaw    span             // the Attributes object, as sent
	layout      *attributeLayout // the attribute keys decoded by name
	byName      []wireString     // their values in this event, in layout order
	byNamePtr   any              // byName as a pointer to layout.typ, for json-iterator
	byNameState byNameState
	attrsParsed bool
	attrs       []attribute // every attribute, parsed only for keys not decoded by name

	wire      wireEvent
	iter      *jsoniter.Iterator // walks the event
	sub       *jsoniter.Iterator // walks every attribute (the general parse)
	subByName *jsoniter.Iterator // decodes the attributes by name
	unesc     *jsoniter.Iterator // decodes the rare string holding escapes
	onAttrib  func(*jsoniter.Iterator, string) bool
}

// The envelope of a Docker event, as json-iterator decodes it.
type wireEvent struct {
	Status   wireString `json:"status"`
	ID       wireString `json:"id"`
	From     wireString `json:"from"`
	Type     wireString `json:"Type"`
	Action   wireString `json:"Action"`
	Actor    wireActor  `json:"Actor"`
	Scope    wireString `json:"scope"`
	Time     wireTime   `json:"time"`
	TimeNano wireTime   `json:"timeNano"`
}

type wireActor struct {
	ID         wireString `json:"ID"`
	Attributes wireObject `json:"Attributes"`
}

type (
	wireString struct{ s span }
	wireObject struct{ s span }
	wireTime   struct{ ok bool } // an integer is there
)

// wireAPI decodes wireEvent: case-sensitive keys, as the daemon writes them,
// and our decoders for the value types, which write into the decodedEvent
// attached to the iterator.
var wireAPI = func() jsoniter.API {
	api := jsoniter.Config{CaseSensitive: true}.Froze()
	api.RegisterExtension(jsoniter.DecoderExtension{
		reflect2.TypeOf(wireString{}): wireStringDecoder{},
		reflect2.TypeOf(wireTime{}):   wireTimeDecoder{},
		reflect2.TypeOf(wireObject{}): wireObjectDecoder{},
	})
	return api
}()

type (
	wireStringDecoder struct{}
	wireTimeDecoder   struct{}
	wireObjectDecoder struct{}
)

func (wireStringDecoder) Decode(ptr unsafe.Pointer, iter *jsoniter.Iterator) {
	(*wireString)(ptr).s = iter.Attachment.(*decodedEvent).readString(iter)
}

func (wireTimeDecoder) Decode(ptr unsafe.Pointer, iter *jsoniter.Iterator) {
	(*wireTime)(ptr).ok = iter.Attachment.(*decodedEvent).isInteger(iter)
}

// Decode captures an object whole (json-iterator skips it, checking its
// structure); anything else is absent.
func (wireObjectDecoder) Decode(ptr unsafe.Pointer, iter *jsoniter.Iterator) {
	if iter.WhatIsNext() != jsoniter.ObjectValue {
		iter.Skip()
		(*wireObject)(ptr).s = span{}
		return
	}
	d := iter.Attachment.(*decodedEvent)
	start := len(d.arena)
	d.arena = iter.SkipAndAppendBytes(d.arena)
	(*wireObject)(ptr).s = span{start: start, end: len(d.arena), ok: true}
}

func newDecodedEvent() *decodedEvent {
	d := &decodedEvent{
		arena: make([]byte, 0, 4096),
		attrs: make([]attribute, 0, 32),
		iter:  jsoniter.NewIterator(wireAPI),
		sub:   jsoniter.NewIterator(wireAPI),
		unesc: jsoniter.NewIterator(wireAPI),
	}
	d.subByName = jsoniter.NewIterator(attributesAPI)
	d.iter.Attachment = d
	d.subByName.Attachment = d
	d.onAttrib = d.attributeField
	d.setLayout(knownAttributes)
	return d
}

func (d *decodedEvent) reset(evtNum uint64) {
	d.evtNum = evtNum
	d.err = nil
	d.arena = d.arena[:0]
	d.status, d.id, d.from, d.typ, d.action, d.scope, d.actorID = span{}, span{}, span{}, span{}, span{}, span{}, span{}
	d.host, d.daemonName = span{}, span{}
	d.hasTime = false
	d.attrsRaw, d.attrsParsed = span{}, false
	d.byNameState = byNamePending // byName is cleared when decoded
	clear(d.attrs)                // drop the key strings
	d.attrs = d.attrs[:0]
	d.wire = wireEvent{}
}

// decode fills d from data, the event's JSON object and, for live events,
// the origin trailer. On malformed input it records the error and leaves
// every value absent: extraction then reports no value instead of failing
// Falco's rule evaluation.
func (d *decodedEvent) decode(evtNum uint64, data []byte) {
	d.reset(evtNum)
	data, trailer, hasTrailer := bytes.Cut(data, []byte{originSep})
	iter := d.iter
	iter.ResetBytes(data)
	iter.Error = nil
	if iter.WhatIsNext() != jsoniter.ObjectValue {
		iter.ReportError("decode", "a Docker event is a JSON object")
	} else {
		iter.ReadVal(&d.wire)
	}
	if err := iter.Error; err != nil {
		d.reset(evtNum) // nothing of a malformed event is kept
		d.err = err
		return
	}
	w := &d.wire
	d.status, d.id, d.from, d.typ, d.action, d.scope = w.Status.s, w.ID.s, w.From.s, w.Type.s, w.Action.s, w.Scope.s
	d.actorID, d.attrsRaw = w.Actor.ID.s, w.Actor.Attributes.s
	d.hasTime = w.Time.ok || w.TimeNano.ok
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

// deriveDeprecated fills status and id the way daemons before API v1.52
// (Docker 29) sent them, so that rules written on them keep working; from
// is derived on demand (fromSpan), as it needs the attributes.
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
}

// fromSpan is the deprecated from: as sent, or for a container event the
// image attribute.
func (d *decodedEvent) fromSpan() span {
	if d.from.ok || d.str(d.typ) != "container" {
		return d.from
	}
	s, _ := d.attrSpan("image")
	return s
}

// readString copies iter's next value into the arena. Strings are stored
// unescaped; numbers and booleans keep their JSON text (some replay tools
// write exitCode as a number); null, objects and arrays are absent.
func (d *decodedEvent) readString(iter *jsoniter.Iterator) span {
	switch iter.WhatIsNext() {
	case jsoniter.StringValue:
		start := len(d.arena)
		d.arena = iter.SkipAndAppendBytes(d.arena)
		raw := skipSpace(d.arena[start:])
		if len(raw) < 2 {
			d.arena = d.arena[:start]
			return span{}
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			end := len(d.arena) - 1
			return span{start: end - (len(raw) - 2), end: end, ok: true}
		}
		d.unesc.Error = nil
		s := d.unesc.ResetBytes(raw).ReadString()
		d.arena = d.arena[:start]
		if d.unesc.Error != nil {
			return span{}
		}
		d.arena = append(d.arena, s...)
		return span{start: start, end: len(d.arena), ok: true}
	case jsoniter.NumberValue, jsoniter.BoolValue:
		start := len(d.arena)
		d.arena = iter.SkipAndAppendBytes(d.arena)
		raw := skipSpace(d.arena[start:])
		return span{start: len(d.arena) - len(raw), end: len(d.arena), ok: true}
	default:
		iter.Skip()
		return span{}
	}
}

// isInteger skips iter's next value and reports whether it is an integer
// (digits, optionally signed), the form a time takes; 1.5 and 1e9 are not.
func (d *decodedEvent) isInteger(iter *jsoniter.Iterator) bool {
	if iter.WhatIsNext() != jsoniter.NumberValue {
		iter.Skip()
		return false
	}
	start := len(d.arena)
	d.arena = iter.SkipAndAppendBytes(d.arena)
	digits := skipSpace(d.arena[start:])
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	ok := len(digits) > 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			ok = false
			break
		}
	}
	d.arena = d.arena[:start]
	return ok
}

// skipSpace drops the JSON whitespace SkipAndAppendBytes keeps before a value.
func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
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
