package bench

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

// Environment of a benchmark run; see the package documentation.
const (
	envPlugin = "BENCH_PLUGIN"
	envSO     = "BENCH_SO"
)

// subject is the library a run measures, loaded once: a Go runtime cannot
// be loaded twice into a process.
type subject struct {
	name   string // ours or baseline
	path   string // the .so loaded
	plugin *host.Plugin
	fields map[string]host.FieldInfo // plugin_get_fields, by name

	// The default slab, for BenchmarkSlab: slots of slotSize data bytes
	// (the README's eventSize default for ours, the SDK's default event
	// size for the seed, which never sets one).
	slotSize int
}

// library describes how to build each subject and its default slot size.
var library = map[string]struct {
	pkg      string // package to build, relative to bench/
	tags     string // its build tags
	slotSize int
}{
	"ours":     {pkg: "..", tags: plugintest.BuildTags, slotSize: 4 << 10},
	"baseline": {pkg: "./baseline", slotSize: int(sdk.DefaultEvtSize)},
}

var loaded struct {
	once sync.Once
	s    *subject
	err  error
}

// load returns the subject of this run, building and loading it on first use.
func load(b testing.TB) *subject {
	b.Helper()
	loaded.once.Do(func() { loaded.s, loaded.err = loadSubject() })
	if loaded.err != nil {
		b.Fatal(loaded.err)
	}
	return loaded.s
}

func loadSubject() (*subject, error) {
	name := os.Getenv(envPlugin)
	if name == "" {
		name = "ours"
	}
	lib, ok := library[name]
	if !ok {
		return nil, fmt.Errorf("%s=%q: want ours or baseline", envPlugin, name)
	}
	path := os.Getenv(envSO)
	if path == "" {
		var err error
		if path, err = build(name, lib.pkg, lib.tags); err != nil {
			return nil, err
		}
	}
	p, err := host.Load(path)
	if err != nil {
		return nil, err
	}
	list, err := host.ParseFields(p.Fields())
	if err != nil {
		return nil, err
	}
	fields := make(map[string]host.FieldInfo, len(list))
	for _, f := range list {
		fields[f.Name] = f
	}
	return &subject{name: name, path: path, plugin: p, fields: fields, slotSize: lib.slotSize}, nil
}

// build compiles pkg into a c-shared library in the work directory.
func build(name, pkg, tags string) (string, error) {
	so, err := work.path("lib" + name + ".so")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-tags", tags, "-o", so, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s (%s): %v\n%s", name, pkg, err, out)
	}
	return so, nil
}

// init calls plugin_init with config and destroys the state when b ends.
func (s *subject) init(b testing.TB, config string) *host.State {
	b.Helper()
	st, err := s.plugin.Init(config)
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	b.Cleanup(st.Destroy)
	return st
}

// field returns the request for a field by name; every benchmarked field
// exists in both libraries, with its own ID in each.
func (s *subject) field(b testing.TB, name string) host.Field {
	b.Helper()
	f, ok := s.fields[name]
	if !ok {
		b.Fatalf("%s has no field %s", s.name, name)
	}
	return f.Field
}
