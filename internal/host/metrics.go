package host

/*
#include "cwrap.h"
*/
import "C"

import (
	"math"
	"unsafe"
)

// Metric is one value returned by plugin_get_metrics.
//
// Value holds integer metrics (u32, s32, u64, s64, int; signed values are
// converted two's-complement) and the truncated value of floating-point ones.
// Float holds every metric as a float64, exact for d and f.
type Metric struct {
	Name      string
	Monotonic bool
	Value     uint64
	Float     float64
}

// Metrics calls plugin_get_metrics. It returns nil if the plugin does not
// export that symbol, reports no metrics, or s is destroyed.
func (s *State) Metrics() []Metric {
	if s.h == 0 || s.p.api.get_metrics == nil {
		return nil
	}
	var n C.uint32_t
	arr := C.host_get_metrics(s.p.api, s.h, &n)
	if arr == nil || n == 0 {
		return nil
	}
	out := make([]Metric, 0, n)
	for _, m := range unsafe.Slice(arr, n) {
		v := unsafe.Pointer(&m.value) // union ss_plugin_metric_value
		r := Metric{Name: C.GoString(m.name), Monotonic: m._type == C.SS_PLUGIN_METRIC_TYPE_MONOTONIC}
		switch m.value_type {
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_U32:
			r.Value = uint64(*(*uint32)(v))
			r.Float = float64(*(*uint32)(v))
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_S32:
			r.Value = uint64(int64(*(*int32)(v)))
			r.Float = float64(*(*int32)(v))
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_U64:
			r.Value = *(*uint64)(v)
			r.Float = float64(r.Value)
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_S64:
			r.Value = uint64(*(*int64)(v))
			r.Float = float64(*(*int64)(v))
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_D:
			r.Float = *(*float64)(v)
			r.Value = toUint(r.Float)
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_F:
			r.Float = float64(*(*float32)(v))
			r.Value = toUint(r.Float)
		case C.SS_PLUGIN_METRIC_VALUE_TYPE_I:
			r.Value = uint64(int64(*(*C.int)(v)))
			r.Float = float64(*(*C.int)(v))
		}
		out = append(out, r)
	}
	return out
}

// toUint truncates f, clamping negative and NaN values to 0 and large ones to
// MaxUint64, since Go leaves out-of-range float conversions unspecified.
func toUint(f float64) uint64 {
	switch {
	case !(f > 0):
		return 0
	case f >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(f)
}
