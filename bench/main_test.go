package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestMain(m *testing.M) {
	// A child started by BenchmarkSlab measures one plugin_open in a fresh
	// process and exits: no benchmark runs in it.
	if os.Getenv(envSlabProbe) != "" {
		os.Exit(childExit(probeSlab()))
	}
	// A child started by BenchmarkPeakRSS runs one scenario in a fresh
	// process and exits.
	if os.Getenv(envRSSProbe) != "" {
		os.Exit(childExit(probeRSS(os.Getenv(envRSSProbe), os.Getenv(envRSSSource))))
	}
	code := m.Run()
	work.remove()
	os.Exit(code)
}

// work is the temporary directory holding what the benchmarks generate (the
// replay file, the libraries they build). It is created on first use, so
// that a run without -bench creates nothing.
var work workDir

type workDir struct {
	once sync.Once
	dir  string
	err  error
}

// path returns name inside the work directory, creating the directory.
func (w *workDir) path(name string) (string, error) {
	w.once.Do(func() { w.dir, w.err = os.MkdirTemp("", "falco-docker-bench-") })
	if w.err != nil {
		return "", fmt.Errorf("bench work directory: %w", w.err)
	}
	return filepath.Join(w.dir, name), nil
}

func (w *workDir) remove() {
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}
