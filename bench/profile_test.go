package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

// envProfileDir turns BenchmarkProfile on and names where it writes.
const envProfileDir = "BENCH_PROFILE_DIR"

// profileSeconds is how long the CPU profile samples the pipeline.
const profileSeconds = 10

// BenchmarkProfile profiles the library's own Go code, which the test
// binary's -cpuprofile and -memprofile cannot see (the library has its own
// runtime; cgo time shows there only as the calling frames). It runs the
// pipeline of BenchmarkPipeline over and over while it fetches, from the
// library's pprof server, a CPU profile of profileSeconds and then the
// allocations profile, and writes them to $BENCH_PROFILE_DIR as
// <subject>.cpu.prof and <subject>.allocs.prof. Without that variable it
// is skipped: `make profile` runs it with -benchtime=1x.
func BenchmarkProfile(b *testing.B) {
	dir := os.Getenv(envProfileDir)
	if dir == "" {
		b.Skipf("set %s to write the library's profiles", envProfileDir)
	}
	s := load(b)
	path := shortReplay(b)
	addr := plugintest.FreeLoopbackAddr(b)
	st := s.init(b, fmt.Sprintf(`{"pprofAddr":%q}`, addr))
	xs := extractors(b, s, st)
	for b.Loop() {
		cpu := filepath.Join(dir, s.name+".cpu.prof")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, profileSeconds), cpu)
		}()
		events := 0
		var err error
	loop:
		for {
			events += drain(b, st, path, func(e *host.Event) {
				for _, x := range xs {
					extract(b, x, e)
				}
			})
			select {
			case err = <-done:
				break loop
			default:
			}
		}
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		allocs := filepath.Join(dir, s.name+".allocs.prof")
		if err := fetch(context.Background(), "http://"+addr+"/debug/pprof/allocs", allocs); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d events profiled: %s, %s", s.name, events, cpu, allocs)
	}
}

// fetch writes the body of url to file.
func fetch(ctx context.Context, url, file string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*profileSeconds*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
