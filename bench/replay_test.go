package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// fixture holds real daemon events recorded by the e2e tests.
const fixture = "../e2e/testdata/events.jsonl"

// replayLines is the length of the generated replay: long enough that one
// drain spans hundreds of batches and the open/close of an instance weighs
// nothing per event.
const replayLines = 100_000

// kind is a class of Docker event, for building a production-like mix.
type kind string

const (
	kindContainer kind = "container"    // container lifecycle
	kindExec      kind = "exec"         // exec_create, exec_start, exec_die
	kindNetwork   kind = "network"      // connect, disconnect, create...
	kindVolume    kind = "volume"       // mount, unmount, create...
	kindSwarm     kind = "swarm"        // service and node events, task containers
	kindLabelled  kind = "large-labels" // container events with many labels (see widen)
	kindOther     kind = "other"        // image, daemon, secret, config, builder
)

// mix is the share of each kind in the replay, in events per thousand:
// mostly container lifecycle (plain and compose-labelled containers), then
// execs and networking, some volumes and Swarm, a few events with many
// labels (about 9 KiB each), a trickle of the rest.
var mix = []struct {
	kind     kind
	perMille int
}{
	{kindContainer, 500},
	{kindExec, 150},
	{kindNetwork, 120},
	{kindVolume, 80},
	{kindSwarm, 60},
	{kindLabelled, 40},
	{kindOther, 50},
}

// The fixture's most labelled containers (compose services) carry about 20
// attributes, 1.4 KiB. Containers of orchestrated stacks carry many more
// labels, and a container event repeats every label as an attribute: the
// large-labels kind is the fixture's container events with at least
// labelledMin attributes, widened by extraLabels labels.
const (
	labelledMin = 15
	extraLabels = 120
)

// widen inserts extraLabels attributes at the start of the event's
// Attributes object, leaving the rest of the line byte for byte as recorded
// (timeNano stays the last key, as the daemon writes it).
func widen(line []byte) ([]byte, error) {
	const open = `"Attributes":{`
	at := bytes.Index(line, []byte(open))
	if at < 0 {
		return nil, fmt.Errorf("no Attributes object in %s", line)
	}
	at += len(open)
	var w bytes.Buffer
	w.Write(line[:at])
	for i := range extraLabels {
		fmt.Fprintf(&w, `"com.example.stack.label-%03d":"value of label %03d for the bench",`, i, i)
	}
	w.Write(line[at:])
	return w.Bytes(), nil
}

// classify puts a fixture line in its kind and counts its attributes.
func classify(line []byte) (kind, int, error) {
	var ev struct {
		Type   string
		Action string
		Actor  struct{ Attributes map[string]string }
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		return "", 0, err
	}
	attrs := ev.Actor.Attributes
	_, task := attrs["com.docker.swarm.task.id"]
	switch {
	case ev.Type == "container" && strings.HasPrefix(ev.Action, "exec_"):
		return kindExec, len(attrs), nil
	case ev.Type == "service" || ev.Type == "node" || (ev.Type == "container" && task):
		return kindSwarm, len(attrs), nil
	case ev.Type == "container":
		return kindContainer, len(attrs), nil
	case ev.Type == "network":
		return kindNetwork, len(attrs), nil
	case ev.Type == "volume":
		return kindVolume, len(attrs), nil
	}
	return kindOther, len(attrs), nil
}

// shortReplayLines is the length of the short replay, the first lines of
// the same stream, for the benchmarks that extract fields from every event:
// the seed takes tens of seconds per 100k events there.
const shortReplayLines = 10_000

// replay returns the path of the generated replay file of replayLines lines.
func replay(b testing.TB) string { return replayOf(b, replayLines) }

// shortReplay returns the path of the replay file of shortReplayLines lines.
func shortReplay(b testing.TB) string { return replayOf(b, shortReplayLines) }

// replayOf returns the path of a replay of n lines: lines drawn from the
// fixture with the mix above, by a seeded generator, so that every run (and
// every length) replays the same stream.
func replayOf(b testing.TB, n int) string {
	return replayFile(b, fmt.Sprintf("replay-%d.jsonl", n), func(w *bufio.Writer) error {
		byKind, err := fixtureByKind()
		if err != nil {
			return err
		}
		total := 0
		for _, m := range mix {
			if len(byKind[m.kind]) == 0 {
				return fmt.Errorf("%s: no %s event to sample", fixture, m.kind)
			}
			total += m.perMille
		}
		rng := rand.New(rand.NewPCG(5, 2026))
		for range n {
			lines := byKind[pick(rng.IntN(total))]
			w.Write(lines[rng.IntN(len(lines))])
			w.WriteByte('\n')
		}
		return nil
	})
}

var replays struct {
	mu    sync.Mutex
	paths map[string]string // by file name
}

// replayFile returns the path of the generated replay file name in the work
// directory, which write fills on first use.
func replayFile(b testing.TB, name string, write func(*bufio.Writer) error) string {
	b.Helper()
	replays.mu.Lock()
	defer replays.mu.Unlock()
	if path, ok := replays.paths[name]; ok {
		return path
	}
	path, err := work.path(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := writeFile(path, write); err != nil {
		b.Fatalf("writing %s: %v", name, err)
	}
	if replays.paths == nil {
		replays.paths = map[string]string{}
	}
	replays.paths[name] = path
	return path
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := errors.Join(write(w), w.Flush()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pick maps r in [0, total of perMille) to its kind.
func pick(r int) kind {
	for _, m := range mix {
		if r < m.perMille {
			return m.kind
		}
		r -= m.perMille
	}
	return mix[len(mix)-1].kind
}

func fixtureByKind() (map[kind][][]byte, error) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		return nil, err
	}
	byKind := map[kind][][]byte{}
	for n, line := range bytes.Split(data, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		k, attrs, err := classify(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", fixture, n+1, err)
		}
		byKind[k] = append(byKind[k], line)
		if k == kindContainer && attrs >= labelledMin {
			wide, err := widen(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", fixture, n+1, err)
			}
			byKind[kindLabelled] = append(byKind[kindLabelled], wide)
		}
	}
	return byKind, nil
}
