package main

import (
	"os"
	"runtime/debug"
)

// The plugin's Go runtime is its own, inside Falco's process, and every
// byte of its heap counts in Falco's resident set. Its live heap is small
// (under 2 MiB: the decoder, the queue's lines, package data), so the
// collector's default target, GOGC=100 with a 4 MiB minimum, lets garbage
// grow the heap to about twice that before a cycle; at 50 the heap stays
// within 1.5x the live data and a 2 MiB minimum (the minimum scales with
// GOGC: runtime/mgcpacer.go, heapMinimum), for one more cycle per MiB
// allocated. BENCHMARKS.md ("Process memory") has both sides measured.
// A GOGC set in the environment, read by this runtime too, wins.
const gcPercent = 50

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
