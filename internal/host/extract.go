package host

/*
#include "cwrap.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"net"
	"unsafe"
)

// FieldType is the type of an extracted field (ss_plugin_field_type, equal
// to libscap's ppm_param_type).
type FieldType uint32

// Field types, with their values from plugin_types.h.
const (
	FTypeUint64  FieldType = C.FTYPE_UINT64  // 8, PT_UINT64
	FTypeString  FieldType = C.FTYPE_STRING  // 9, PT_CHARBUF
	FTypeRelTime FieldType = C.FTYPE_RELTIME // 20, PT_RELTIME
	FTypeAbsTime FieldType = C.FTYPE_ABSTIME // 21, PT_ABSTIME
	FTypeBool    FieldType = C.FTYPE_BOOL    // 25, PT_BOOL
	FTypeIPAddr  FieldType = C.FTYPE_IPADDR  // 40, PT_IPADDR

	ftypeIPNet FieldType = C.FTYPE_IPNET // 41, PT_IPNET; accepted by ParseFields only
)

// Field is one extraction request, as libsinsp fills ss_plugin_extract_field.
// ID is the field's index in the plugin_get_fields list. ArgKey is passed
// when non-empty; ArgIndex is meaningful when ArgPresent is true.
type Field struct {
	ID         uint32
	Name       string
	Type       FieldType
	ArgKey     string
	ArgIndex   uint64
	ArgPresent bool
	IsList     bool
}

// Extractor owns the C memory of a fixed list of field requests: the
// ss_plugin_extract_field array, the field names and argument keys (which
// the plugin may read during every call) and the call inputs. It is built
// once and reused for every Extract, which then allocates nothing.
// An Extractor is not safe for concurrent use and is invalid once its State
// is destroyed.
type Extractor struct {
	s      *State
	fields []C.ss_plugin_extract_field // view of C memory
	types  []FieldType
	in     *C.ss_plugin_field_extract_input // laid out as the State's framework
	inSize C.size_t
	evtIn  *C.ss_plugin_event_input
	cstrs  []*C.char
}

var (
	errFreed   = errors.New("host: extractor freed")
	errNoEvent = errors.New("host: nil event")
)

// NewExtractor prepares the requests for fields, to be extracted together by
// each Extract call. Release it with Free.
func (s *State) NewExtractor(fields []Field) *Extractor {
	n := len(fields)
	arr := (*C.ss_plugin_extract_field)(C.calloc(C.size_t(max(n, 1)), C.sizeof_ss_plugin_extract_field))
	inSize := C.host_extract_input_size(C.uint32_t(s.fw.Minor))
	in := (*C.ss_plugin_field_extract_input)(C.host_guard_alloc(inSize))
	if in == nil {
		panic("host: cannot map an extract input")
	}
	x := &Extractor{
		s:      s,
		fields: unsafe.Slice(arr, n),
		types:  make([]FieldType, n),
		in:     in,
		inSize: inSize,
		evtIn:  (*C.ss_plugin_event_input)(C.calloc(1, C.sizeof_ss_plugin_event_input)),
	}
	for k, f := range fields {
		cf := &x.fields[k]
		cf.field_id = C.uint32_t(f.ID)
		cf.field = x.cstring(f.Name)
		if f.ArgKey != "" {
			cf.arg_key = x.cstring(f.ArgKey)
		}
		cf.arg_index = C.uint64_t(f.ArgIndex)
		cf.arg_present = cbool(f.ArgPresent)
		cf.ftype = C.uint32_t(f.Type)
		cf.flist = cbool(f.IsList)
		x.types[k] = f.Type
	}
	x.in.num_fields = C.uint32_t(n)
	x.in.fields = arr
	x.evtIn.evtsrc = s.p.evtsrc
	return x
}

func (x *Extractor) cstring(s string) *C.char {
	c := C.CString(s)
	x.cstrs = append(x.cstrs, c)
	return c
}

func cbool(b bool) C.ss_plugin_bool {
	if b {
		return 1
	}
	return 0
}

// Extract makes exactly one plugin_extract_fields call for all the fields of
// x on event e, with evtnum e.Num, the plugin's event source and no value
// offsets. On an rc other than SS_PLUGIN_SUCCESS the error carries
// plugin_get_last_error. Read the results with Len, String and Uint64.
func (x *Extractor) Extract(e *Event) (rc int32, err error) {
	if x.in == nil {
		return SSPluginFailure, errFreed
	}
	if x.s.h == 0 {
		return SSPluginFailure, errDestroyed
	}
	if e == nil || e.evt == nil {
		return SSPluginFailure, errNoEvent
	}
	x.evtIn.evt = e.evt
	x.evtIn.evtnum = C.uint64_t(e.Num)
	rc = int32(C.host_extract_fields(x.s.p.api, x.s.h, x.evtIn, x.in))
	if rc != SSPluginSuccess {
		return rc, x.s.err("plugin_extract_fields")
	}
	return rc, nil
}

// Len returns the number of values of field i after the last Extract; 0
// means the field was not extracted (Falco prints <NA>).
func (x *Extractor) Len(i int) int { return int(x.fields[i].res_len) }

// res returns the res array pointer of field i, checking j against res_len.
func (x *Extractor) res(i, j int) unsafe.Pointer {
	f := &x.fields[i]
	if j < 0 || uint64(j) >= uint64(f.res_len) {
		panic(fmt.Sprintf("host: value %d of field %d out of range (len %d)", j, i, f.res_len))
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(&f.res))
}

// String returns a copy of value j of string field i. It panics if field i
// is not a string field or j >= Len(i).
func (x *Extractor) String(i, j int) string {
	if x.types[i] != FTypeString {
		panic(fmt.Sprintf("host: field %d is not a string field", i))
	}
	return C.GoString(unsafe.Slice((**C.char)(x.res(i, j)), j+1)[j])
}

// Uint64 returns value j of the uint64, reltime, abstime or bool (0 or 1)
// field i. It panics for other types or if j >= Len(i).
func (x *Extractor) Uint64(i, j int) uint64 {
	switch x.types[i] {
	case FTypeUint64, FTypeRelTime, FTypeAbsTime:
		return unsafe.Slice((*uint64)(x.res(i, j)), j+1)[j]
	case FTypeBool:
		return uint64(unsafe.Slice((*uint32)(x.res(i, j)), j+1)[j])
	}
	panic(fmt.Sprintf("host: field %d is not an integer field", i))
}

// buf returns a copy of value j of a byte-buffer field i (ipaddr, ipnet).
func (x *Extractor) buf(i, j int) []byte {
	b := unsafe.Slice((*C.ss_plugin_byte_buffer)(x.res(i, j)), j+1)[j]
	return C.GoBytes(b.ptr, C.int(b.len))
}

// Free releases the C memory of x. It is idempotent.
func (x *Extractor) Free() {
	if x.in == nil {
		return
	}
	for _, c := range x.cstrs {
		C.free(unsafe.Pointer(c))
	}
	C.free(unsafe.Pointer(x.in.fields))
	C.host_guard_free(unsafe.Pointer(x.in), x.inSize)
	C.free(unsafe.Pointer(x.evtIn))
	*x = Extractor{s: x.s}
}

// Value is the result of ExtractOne. Present is false when the plugin
// extracted nothing. String fields fill Strings, ipaddr fields fill Strings
// with the textual address; uint64, reltime, abstime and bool (0/1) fields
// fill Uint64s.
type Value struct {
	Present bool
	Strings []string
	Uint64s []uint64
}

// ExtractOne extracts field f from e with its own plugin_extract_fields call
// and num_fields = 1, exactly as libsinsp's plugin filtercheck does.
// It allocates; use an Extractor on hot paths.
func (s *State) ExtractOne(e *Event, f Field) (Value, error) {
	x := s.NewExtractor([]Field{f})
	defer x.Free()
	if _, err := x.Extract(e); err != nil {
		return Value{}, err
	}
	var v Value
	n := x.Len(0)
	v.Present = n > 0
	for j := range n {
		switch f.Type {
		case FTypeString:
			v.Strings = append(v.Strings, x.String(0, j))
		case FTypeUint64, FTypeRelTime, FTypeAbsTime, FTypeBool:
			v.Uint64s = append(v.Uint64s, x.Uint64(0, j))
		case FTypeIPAddr:
			v.Strings = append(v.Strings, net.IP(x.buf(0, j)).String())
		default:
			return v, fmt.Errorf("host: ExtractOne: unsupported field type %d", f.Type)
		}
	}
	return v, nil
}
