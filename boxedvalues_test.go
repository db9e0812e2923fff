package main

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// A small-set value is boxed once and then handed out without allocating;
// what is kept is a copy of the arena's bytes; the set stays bounded, and
// values past the bound or too long still come out right.
func TestBoxedValuesBoxOnceBounded(t *testing.T) {
	e := newBoxedValues()
	arena := []byte("container")
	v := e.box(unsafe.String(&arena[0], len(arena)))
	copy(arena, "xxxxxxxxx") // the next event reuses the arena
	if v.(string) != "container" {
		t.Fatalf("boxed value follows the arena: %q", v)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = e.box("container") }); allocs != 0 {
		t.Errorf("boxing a kept value allocates %v times", allocs)
	}
	long := strings.Repeat("a", maxBoxedValueLen+1)
	if got := e.box(long); got.(string) != long {
		t.Fatalf("box(long) = %q", got)
	}
	if _, kept := e.boxed[long]; kept {
		t.Errorf("a value longer than %d bytes is kept", maxBoxedValueLen)
	}
	for i := range maxBoxedValues + 10 {
		s := fmt.Sprintf("action-%d", i)
		if got := e.box(s); got.(string) != s {
			t.Fatalf("box(%q) = %q", s, got)
		}
	}
	if len(e.boxed) != maxBoxedValues {
		t.Errorf("%d values kept, want the bound %d", len(e.boxed), maxBoxedValues)
	}
}
