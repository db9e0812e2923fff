package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// fieldValue is one extracted field: its name as rules write it without
// "docker." (type, attributes[destination]) and its value as text.
type fieldValue struct {
	Name, Value string
}

// eventRecord is what the demo shows of one event.
type eventRecord struct {
	Time   time.Time
	Fields []fieldValue // the extracted fields, in the order of the field table
}

// Get returns the value of the field named name ("action", "signal"...).
func (r eventRecord) Get(name string) (string, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// countKey is the bucket of the event in the summary: its type and action
// name (exec_start rather than "exec_start: sh -c id"), with the health
// status for health_status events.
func (r eventRecord) countKey() (typ, action string) {
	typ, _ = r.Get("type")
	action, _ = r.Get("action.name")
	if action == "" {
		action, _ = r.Get("action")
	}
	if status, ok := r.Get("health.status"); ok {
		action += ": " + status
	}
	return typ, action
}

// origin is where the event comes from: its daemon's name and endpoint,
// shown on a line of their own when they change rather than on every line.
func (r eventRecord) origin() string {
	var parts []string
	for _, name := range []string{"daemon.name", "host"} {
		if v, ok := r.Get(name); ok {
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// String is the event as one line: time, type and action, then the other
// fields that have a value as name=value, but for those said once for all
// (origin), the action name when the action says it already and the demo's
// label (its objects' names carry the run ID). Values with spaces are
// quoted; 64-digit hex IDs are shortened to 12 digits as the docker CLI
// does.
func (r eventRecord) String() string {
	var b strings.Builder
	typ, _ := r.Get("type")
	action, _ := r.Get("action")
	fmt.Fprintf(&b, "%s %-9s %-22s", r.Time.Local().Format("15:04:05.000"), typ, strconv.Quote(action))
	for _, f := range r.Fields {
		switch {
		case f.Name == "type" || f.Name == "action" || f.Name == "daemon.name" || f.Name == "host",
			f.Name == "attributes["+demoLabel+"]",
			f.Name == "action.name" && strings.HasPrefix(action, f.Value):
			continue
		}
		b.WriteString(" " + f.Name + "=" + displayValue(f.Value))
	}
	return b.String()
}

func displayValue(v string) string {
	prefix, hexID := "", v
	if rest, ok := strings.CutPrefix(v, "sha256:"); ok {
		prefix, hexID = "sha256:", rest
	}
	if len(hexID) == 64 && strings.Trim(hexID, "0123456789abcdef") == "" {
		return prefix + hexID[:12]
	}
	if v == "" || strings.ContainsAny(v, " \t\"") {
		return strconv.Quote(v)
	}
	return v
}

// recorder extracts the selected fields of events, one field per
// plugin_extract_fields call as libsinsp asks them.
type recorder struct {
	fields     []host.FieldInfo
	extractors []*host.Extractor
}

func newRecorder(state *host.State, fields []host.FieldInfo) *recorder {
	r := &recorder{fields: fields}
	for _, f := range fields {
		r.extractors = append(r.extractors, state.NewExtractor([]host.Field{f.Field}))
	}
	return r
}

// record extracts the fields of evt; fields the plugin does not extract
// from it (Falco's <NA>) are left out.
func (r *recorder) record(evt *host.Event) (eventRecord, error) {
	rec := eventRecord{Time: time.Unix(0, int64(evt.Timestamp))}
	for i, x := range r.extractors {
		f := r.fields[i]
		if _, err := x.Extract(evt); err != nil {
			return rec, fmt.Errorf("extract %s: %w", displayName(f), err)
		}
		if x.Len(0) == 0 {
			continue
		}
		var v string
		switch f.Type {
		case host.FTypeString:
			v = x.String(0, 0)
		case host.FTypeAbsTime:
			continue // the event's timestamp, shown as the line's time
		default:
			v = strconv.FormatUint(x.Uint64(0, 0), 10)
		}
		rec.Fields = append(rec.Fields, fieldValue{displayName(f), v})
	}
	return rec, nil
}

func (r *recorder) free() {
	for _, x := range r.extractors {
		x.Free()
	}
}
