package main

import "strings"

// enumValues boxes, once each, the values of the fields whose values come
// from a small set (field.small in fieldDefs): event types, actions, scopes,
// Swarm states, endpoints.
// The SDK's SetValue takes an interface{}, and boxing a string allocates 16
// bytes on every call; these are the fields every rule's condition reads
// first. The set is bounded: past maxEnumValues values, or for a value
// longer than maxEnumValueLen (an action carrying an exec command, say), a
// value is boxed per call like any other.
type enumValues struct{ boxed map[string]any }

const (
	maxEnumValues   = 1024
	maxEnumValueLen = 64
)

func newEnumValues() enumValues { return enumValues{boxed: make(map[string]any)} }

// box returns s in an interface. s may alias the decode arena: what is kept
// is a copy.
func (e enumValues) box(s string) any {
	if v, ok := e.boxed[s]; ok {
		return v
	}
	if len(e.boxed) >= maxEnumValues || len(s) > maxEnumValueLen {
		return s
	}
	kept := strings.Clone(s)
	v := any(kept)
	e.boxed[kept] = v
	return v
}
