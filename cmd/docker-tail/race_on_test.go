//go:build race

package main

// raceEnabled says whether the test binary has the race detector, so that
// the demo binary the tests build shares its compiled packages.
const raceEnabled = true
