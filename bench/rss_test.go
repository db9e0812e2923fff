package bench

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// Environment of the child process BenchmarkPeakRSS starts.
const (
	envRSSProbe  = "BENCH_RSS_PROBE"  // the scenario the child runs instead of the benchmarks
	envRSSSource = "BENCH_RSS_SOURCE" // what it opens: file://PATH, or "" for the machine's daemon
	envRSSFor    = "BENCH_RSS_FOR"    // a live open: how long next_batch is called (time.Duration)
	envRSSDetail = "BENCH_RSS_DETAIL" // a directory: the child writes its smaps and the library's MemStats there
	envRSSConfig = "BENCH_RSS_CONFIG" // init_config of the child, {} by default (not with envRSSDetail)
)

// The scenarios a child runs.
const (
	rssProbeRule = "rule" // drain a replay, extracting ruleFields from every event
	rssProbeIdle = "idle" // call next_batch on a live open for a while
)

const (
	rssIdle      = 60 * time.Second // BenchmarkPeakRSS/live-idle, as BENCHMARKS.md records it
	rssIdleShort = 5 * time.Second  // the same under -short
)

// rssReport is what a child measures, in KiB.
type rssReport struct {
	// Before is the process's resident set before the library is loaded:
	// the host (this test binary) alone.
	Before int64
	// Loaded is the peak once the library is loaded (dlopen: its Go
	// runtime started, its packages initialised) and its fields read.
	Loaded int64
	// Init is the peak once the library is loaded and plugin_init has
	// returned: the library's text and data, its runtime's start, package
	// init.
	Init int64
	// Open is the peak once plugin_open has returned: the slab, the
	// instance's buffers, a live open's connection.
	Open int64
	// Peak is the peak at the end of the scenario, what a user's top shows
	// as the process's high-water mark.
	Peak int64
	// Events is how many events were delivered.
	Events int
	// Reopens is how many times a live instance failed and was opened again.
	Reopens int
}

// BenchmarkPeakRSS measures the peak resident set (VmHWM) of a process that
// loads one library and runs a scenario as Falco would, each op in a fresh
// child process (this test binary started again): memory a process once
// held stays in its high-water mark, so one process measures one scenario
// once.
//
//   - fixture: init, open the recorded daemon events (e2e/testdata, 116
//     events), extract the rule's 5 fields of every event, close;
//   - replay-100k: the same over 100,000 events, the fixture's lines cycled
//     with rising timestamps;
//   - live-idle: open the machine's daemon and call next_batch for 60 s
//     (5 s under -short) as Falco does, through its timeouts; a machine
//     without a daemon skips it.
//
// The host's own share (this binary, its Go runtime) is reported apart as
// host-RSS-KiB, the same for both libraries; ns/op is the child's whole
// run and means nothing.
func BenchmarkPeakRSS(b *testing.B) {
	s := load(b)
	lib := residentCopy(b, s)
	idle := rssIdle
	if testing.Short() {
		idle = rssIdleShort
	}
	scenarios := []struct {
		name, probe, source string
		d                   time.Duration
	}{
		{"fixture", rssProbeRule, "file://" + absPath(b, fixture), 0},
		{"replay-100k", rssProbeRule, "file://" + bigReplay(b), 0},
		{"live-idle", rssProbeIdle, "", idle},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			if sc.probe == rssProbeIdle {
				if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
					b.Skip("no Docker daemon:", err)
				}
			}
			var sum rssReport
			n := 0
			for b.Loop() {
				r, err := runRSSProbe(lib, s.name, sc.probe, sc.source, sc.d, "")
				if err != nil {
					b.Fatal(err)
				}
				sum.Before += r.Before
				sum.Loaded += r.Loaded
				sum.Init += r.Init
				sum.Open += r.Open
				sum.Peak += r.Peak
				sum.Reopens += r.Reopens
				n++
			}
			b.ReportMetric(float64(sum.Peak)/float64(n), "peak-RSS-KiB")
			b.ReportMetric(float64(sum.Loaded)/float64(n), "load-peak-RSS-KiB")
			b.ReportMetric(float64(sum.Init)/float64(n), "init-peak-RSS-KiB")
			b.ReportMetric(float64(sum.Open)/float64(n), "open-peak-RSS-KiB")
			b.ReportMetric(float64(sum.Before)/float64(n), "host-RSS-KiB")
			if sc.probe == rssProbeIdle {
				b.ReportMetric(float64(sum.Reopens)/float64(n), "reopens")
			}
		})
	}
}

// residentCopy returns a copy of the subject's library in the work
// directory, written 32 KiB at a time as falcoctl's tar extraction writes
// a plugin (archive/tar, io.Copy), for the children to load. The resident
// pages of a mapped file depend on how its page cache was filled: the same
// library loads ~1.5 MiB larger from the file the Go linker wrote than
// from such a copy (measured with both libraries). Every library measured
// is loaded from its copy.
func residentCopy(b testing.TB, s *subject) string {
	b.Helper()
	dst, err := work.path("rss-" + s.name + ".so")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	if err := copyFile(dst, s.path); err != nil {
		b.Fatal(err)
	}
	return dst
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	// The wrappers hide WriteTo and ReadFrom: plain 32 KiB writes, no
	// copy_file_range.
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, make([]byte, 32<<10)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runRSSProbe runs one scenario in a child and returns its report. With a
// detail directory, the child also writes its /proc/self/smaps and the
// library runtime's MemStats there (and serves pprof, which costs memory
// of its own: detail runs are for the breakdown, not for the figures).
func runRSSProbe(lib, name, probe, source string, d time.Duration, detail string) (rssReport, error) {
	var r rssReport
	err := runChild("rss probe "+probe, []string{
		envRSSProbe + "=" + probe, envPlugin + "=" + name, envSO + "=" + lib,
		envRSSSource + "=" + source, envRSSFor + "=" + d.String(), envRSSDetail + "=" + detail,
	}, &r)
	return r, err
}

func probeRSS(probe, source string) (rssReport, error) {
	var r rssReport
	var err error
	if r.Before, err = procStatus("VmRSS:"); err != nil {
		return r, err
	}
	s, err := loadSubject()
	if err != nil {
		return r, err
	}
	if r.Loaded, err = procStatus("VmHWM:"); err != nil {
		return r, err
	}
	detail := os.Getenv(envRSSDetail)
	config, pprofAddr := cmp.Or(os.Getenv(envRSSConfig), `{}`), ""
	if detail != "" {
		if pprofAddr, err = freeLoopbackAddr(); err != nil {
			return r, err
		}
		config = fmt.Sprintf(`{"pprofAddr":%q}`, pprofAddr)
	}
	st, err := s.plugin.Init(config)
	if err != nil {
		return r, err
	}
	defer st.Destroy()
	if r.Init, err = procStatus("VmHWM:"); err != nil {
		return r, err
	}
	if detail != "" {
		if err := copySmaps(fmt.Sprintf("%s/%s-%s.init.smaps", detail, s.name, probe)); err != nil {
			return r, err
		}
	}
	inst, err := st.Open(source)
	if err != nil {
		return r, err
	}
	if r.Open, err = procStatus("VmHWM:"); err != nil {
		return r, err
	}
	switch probe {
	case rssProbeRule:
		xs := make([]*host.Extractor, len(ruleFields))
		for i, name := range ruleFields {
			f, ok := s.fields[name]
			if !ok {
				return r, fmt.Errorf("%s has no field %s", s.name, name)
			}
			xs[i] = st.NewExtractor([]host.Field{f.Field})
			defer xs[i].Free()
		}
		for {
			evts, rc, err := inst.NextBatch()
			if err != nil {
				return r, err
			}
			for k := range evts {
				for _, x := range xs {
					if _, err := x.Extract(&evts[k]); err != nil {
						return r, err
					}
				}
			}
			r.Events += len(evts)
			if rc == host.SSPluginEOF {
				break
			}
		}
	case rssProbeIdle:
		d, err := time.ParseDuration(os.Getenv(envRSSFor))
		if err != nil {
			return r, fmt.Errorf("%s: %w", envRSSFor, err)
		}
		// Falco calls next_batch again at once after a timeout
		// (falcosecurity/libs userspace/libscap/engine/source_plugin:
		// a timeout is returned to the caller, which asks again).
		// The seed ends its stream for good on an event larger than its
		// slots (BENCHMARKS.md, "The baseline"), which other users of a
		// shared daemon may send: it is opened again, as BenchmarkLatency
		// does, and counted.
		for end := time.Now().Add(d); time.Now().Before(end); {
			evts, _, err := inst.NextBatch()
			if err != nil {
				inst.Close()
				if inst, err = st.Open(source); err != nil {
					return r, err
				}
				r.Reopens++
				continue
			}
			r.Events += len(evts)
		}
	default:
		return r, fmt.Errorf("%s=%q: unknown scenario", envRSSProbe, probe)
	}
	if detail != "" {
		if err := writeDetail(detail, s.name, probe, pprofAddr); err != nil {
			return r, err
		}
	}
	inst.Close()
	if r.Peak, err = procStatus("VmHWM:"); err != nil {
		return r, err
	}
	return r, nil
}

// procStatus reads a field of /proc/self/status, in KiB.
func procStatus(key string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/status: no %s", key)
}

func absPath(b testing.TB, path string) string {
	b.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		b.Fatal(err)
	}
	return abs
}
