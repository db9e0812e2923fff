package main

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/modern-go/reflect2"
)

// An event's attributes are looked up by key: the attributes the plugin's
// fields read, and any other that a rule asks for with docker.attributes[KEY]
// (a label, mostly). The keys asked for so far are decoded by name, all in
// one pass over the attributes per event, by json-iterator's struct decoder
// into a struct type made for them (an attributeLayout): keys are taken as
// they are on the wire and looked up in the decoder's map, without a string
// made for each. Only a key that cannot be matched on the wire as it is
// (see byNameKey), or an attributes object that the struct decode refuses,
// goes to the general parse, which makes a string of every key.

type attribute struct {
	key string
	val span
}

// knownAttributeKeys are the attributes the plugin's own fields read
// (fieldDefs), which are also those docker.from and String read.
var knownAttributeKeys = fieldAttributeKeys()

// maxExtraByName bounds the keys decoded by name beyond the known ones: a
// ruleset asks for a fixed handful of labels; keys past the bound go to the
// general parse.
const maxExtraByName = 64

// knownAttributes is the layout every decodedEvent starts with.
var knownAttributes = newAttributeLayout(knownAttributeKeys, len(knownAttributeKeys)+maxExtraByName)

// attributeLayout is a struct type with one wireString field per key, in
// order. Every field having the same type, the struct is laid out as an
// array of wireString, which decodedEvent.byName holds. With more than ten
// fields (the known ones alone are 29), json-iterator matches keys exactly,
// by map lookup, never by a hash of the key alone: a label key crafted to
// collide cannot pass for another attribute.
type attributeLayout struct {
	typ   reflect.Type
	keys  []string
	index map[string]int // key -> field
	// maxKeys is the most keys it grows to (with). A field, not computed
	// from knownAttributeKeys where it is read: fieldDefs' sources call
	// attrSpan, and knownAttributeKeys is computed from fieldDefs (Go
	// rejects that initialization cycle).
	maxKeys int
}

func newAttributeLayout(keys []string, maxKeys int) *attributeLayout {
	fields := make([]reflect.StructField, len(keys))
	index := make(map[string]int, len(keys))
	for i, key := range keys {
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: reflect.TypeFor[wireString](),
			Tag:  reflect.StructTag(`json:` + strconv.Quote(key)),
		}
		index[key] = i
	}
	l := &attributeLayout{typ: reflect.StructOf(fields), keys: keys, index: index, maxKeys: maxKeys}
	if len(keys) <= 10 || l.typ.Size() != uintptr(len(keys))*unsafe.Sizeof(wireString{}) {
		panic("attributeLayout: want more than 10 keys and an array layout")
	}
	return l
}

// with returns the layout that also decodes key. The key is copied: the
// SDK's ArgKey is a view of Falco's memory, valid during the call only.
func (l *attributeLayout) with(key string) *attributeLayout {
	return newAttributeLayout(append(l.keys[:len(l.keys):len(l.keys)], strings.Clone(key)), l.maxKeys)
}

// byNameKey reports whether key can be decoded by name: it must be written
// on the wire exactly as it is. The daemon's JSON encoder escapes quotes,
// backslashes, control characters, <, >, & and U+2028/U+2029 (and replaces
// invalid UTF-8); a comma or "-" would read as options of the struct tag.
func byNameKey(key string) bool {
	if key == "" || key == "-" || !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		switch {
		case r < 0x20, r == '"', r == '\\', r == ',', r == '<', r == '>', r == '&', r == '\u2028', r == '\u2029':
			return false
		}
	}
	return true
}

// attributesAPI decodes attribute layouts: keys are taken as they are on the
// wire, without a string made for each; a key holding an escaped quote is
// misread and fails the decode, which then falls back to the general parse.
var attributesAPI = func() jsoniter.API {
	api := jsoniter.Config{CaseSensitive: true, ObjectFieldMustBeSimpleString: true}.Froze()
	api.RegisterExtension(jsoniter.DecoderExtension{reflect2.TypeOf(wireString{}): wireStringDecoder{}})
	return api
}()

// setLayout makes l the layout of d's by-name decode; the current event's
// values are decoded again on the next lookup.
func (d *decodedEvent) setLayout(l *attributeLayout) {
	d.layout = l
	d.byName = make([]wireString, len(l.keys))
	d.byNamePtr = reflect.NewAt(l.typ, unsafe.Pointer(unsafe.SliceData(d.byName))).Interface()
	d.byNameState = byNamePending
}

// byNameState tells whether d.byName holds the event's values.
type byNameState uint8

const (
	byNamePending byNameState = iota // not decoded yet
	byNameOK
	byNameFailed // a key json-iterator could not take as is: use the general parse
)

// decodeByName decodes the attributes of the layout from the captured object.
// It clears the previous event's values first (the struct decode sets only
// the keys present); events whose attributes are never asked for skip both.
func (d *decodedEvent) decodeByName() {
	clear(d.byName)
	d.byNameState = byNameFailed
	if !d.attrsRaw.ok {
		d.byNameState = byNameOK // no attributes: every one is absent
		return
	}
	d.subByName.ResetBytes(d.arena[d.attrsRaw.start:d.attrsRaw.end])
	d.subByName.Error = nil
	d.subByName.ReadVal(d.byNamePtr)
	if d.subByName.Error == nil {
		d.byNameState = byNameOK
	}
}

// attrSpan finds an attribute: by name when its key can be (adding it to
// the layout the first time it is asked for), else by parsing every
// attribute (once per event). With a duplicated key the last one wins, as
// in encoding/json and the struct decode.
func (d *decodedEvent) attrSpan(key string) (span, bool) {
	i, byName := d.layout.index[key]
	if !byName && len(d.layout.keys) < d.layout.maxKeys && byNameKey(key) {
		d.setLayout(d.layout.with(key))
		i, byName = len(d.layout.keys)-1, true
	}
	if byName {
		if d.byNameState == byNamePending {
			d.decodeByName()
		}
		if d.byNameState == byNameOK {
			s := d.byName[i].s
			return s, s.ok
		}
	}
	if !d.attrsParsed {
		d.parseAttributes()
	}
	for i := len(d.attrs) - 1; i >= 0; i-- {
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

// parseAttributes decodes every attribute of the captured object, once per
// event: the general parse.
func (d *decodedEvent) parseAttributes() {
	d.attrsParsed = true
	if !d.attrsRaw.ok {
		return
	}
	// The arena may grow while values are appended to it; the iterator keeps
	// reading the captured bytes from the array they were in.
	d.sub.ResetBytes(d.arena[d.attrsRaw.start:d.attrsRaw.end])
	d.sub.Error = nil
	d.sub.ReadObjectCB(d.onAttrib) // unlike ReadObject, it does not stop at a "" key
	if d.sub.Error != nil {
		clear(d.attrs)
		d.attrs = d.attrs[:0]
	}
}

func (d *decodedEvent) attributeField(iter *jsoniter.Iterator, key string) bool {
	if v := d.readString(iter); v.ok {
		d.attrs = append(d.attrs, attribute{key: key, val: v})
	}
	return iter.Error == nil
}
