package main

import "strings"

// boxedValues boxes, once each, the values of the fields whose values come
// from a small set (field.small in fieldDefs): event types, actions, scopes,
// Swarm states, endpoints.
// The SDK's SetValue takes an interface{}, and boxing a string allocates 16
// bytes on every call; these are the fields every rule's condition reads
// first. The set is bounded: past maxBoxedValues values, or for a value
// longer than maxBoxedValueLen (an action carrying an exec command, say), a
// value is boxed per call like any other.
type boxedValues struct{ boxed map[string]any }

const (
	maxBoxedValues   = 1024
	maxBoxedValueLen = 64
)

func newBoxedValues() boxedValues { return boxedValues{boxed: make(map[string]any)} }

// box returns s in an interface. s may alias the decode arena: what is kept
// is a copy.
func (b boxedValues) box(s string) any {
	if v, ok := b.boxed[s]; ok {
		return v
	}
	if len(b.boxed) >= maxBoxedValues || len(s) > maxBoxedValueLen {
		return s
	}
	kept := strings.Clone(s)
	v := any(kept)
	b.boxed[kept] = v
	return v
}
