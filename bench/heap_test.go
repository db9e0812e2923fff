package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The library runs its own Go runtime, whose allocations the test's
// runtime (and -benchmem) cannot see. Both libraries serve net/http/pprof
// on init_config pprofAddr; the debug=1 text of its allocs profile ends with
// the runtime's MemStats, whose TotalAlloc and Mallocs count every
// allocation exactly (not sampled). heapMeter reads them around the
// benchmark loop.

// memStats is the part of the library runtime's MemStats heapMeter needs.
type memStats struct {
	totalAlloc, mallocs uint64
}

// pprofClient reads the library's pprof server, on loopback: a read that
// takes longer than this has failed.
var pprofClient = &http.Client{Timeout: 30 * time.Second}

func readMemStats(addr string) (memStats, error) {
	resp, err := pprofClient.Get("http://" + addr + "/debug/pprof/allocs?debug=1")
	if err != nil {
		return memStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return memStats{}, fmt.Errorf("GET allocs profile: %s", resp.Status)
	}
	var m memStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), " = ")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "# TotalAlloc":
			dst = &m.totalAlloc
		case "# Mallocs":
			dst = &m.mallocs
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(val, 10, 64); err != nil {
			return memStats{}, fmt.Errorf("allocs profile: %s: %v", key, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return memStats{}, err
	}
	if found != 2 {
		return memStats{}, fmt.Errorf("allocs profile of %s has no MemStats", addr)
	}
	return m, nil
}

// heapMeter measures the library runtime's allocations over a span.
type heapMeter struct {
	addr  string
	start memStats
}

func startHeapMeter(b testing.TB, addr string) *heapMeter {
	b.Helper()
	m, err := readMemStats(addr)
	if err != nil {
		b.Fatal(err)
	}
	return &heapMeter{addr: addr, start: m}
}

// report adds the library's heap bytes and allocations per event since the
// start. Each read allocates in the library too (the profile's text): a
// second read right after the last one measures that, and it is taken off.
func (h *heapMeter) report(b *testing.B, events int) {
	b.Helper()
	end, err := readMemStats(h.addr)
	if err != nil {
		b.Fatal(err)
	}
	again, err := readMemStats(h.addr)
	if err != nil {
		b.Fatal(err)
	}
	bytes := float64(end.totalAlloc-h.start.totalAlloc) - float64(again.totalAlloc-end.totalAlloc)
	allocs := float64(end.mallocs-h.start.mallocs) - float64(again.mallocs-end.mallocs)
	b.ReportMetric(max(bytes, 0)/float64(events), "lib-B/event")
	b.ReportMetric(max(allocs, 0)/float64(events), "lib-allocs/event")
}
