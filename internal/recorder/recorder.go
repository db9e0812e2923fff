// Package recorder records the replay fixtures of the tests
// (e2e/testdata/events.jsonl, rules/testdata/rules_events.jsonl) from a real
// Docker daemon: each fixture is exactly the bytes a daemon sent while a
// scenario drove it, as the plugin's live source delivered them. Both
// fixtures come from this one recorder, so that they are recorded alike and
// only their scenarios differ.
package recorder

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

var record = flag.Bool("record", false, "re-record the replay fixture from a private Docker daemon with Swarm")

// endMarker is the volume whose destroy event ends a recording: the
// recorder creates and removes it after the scenario.
const endMarker = "fixture-end"

// deadline bounds a recording's wait for the end marker's event.
const deadline = 180 * time.Second

// SkipUnlessRecording skips the test unless go test runs with -record:
// recording needs root and a private dockerd, and rewrites a fixture.
func SkipUnlessRecording(t *testing.T) {
	t.Helper()
	if !*record {
		t.Skip("run with -record to re-record the fixture")
	}
}

// Scenario drives the daemon during a recording: everything the daemon
// reports meanwhile goes into the fixture. img is the test image
// (testdocker.Image), already in the daemon.
type Scenario func(t *testing.T, dm *testdocker.Daemon, d testdocker.Docker, img string)

// Record starts a private dockerd named name (Swarm on, which the machine's
// daemon must never get), follows it with plugin p's live source (init
// config host, open params ""), runs scenario, and writes to path every
// delivered event as the daemon sent it: the event data up to its first NUL
// byte (live events carry "\x00host\x00daemonName" after the JSON; a
// replay has no origin trailer). It returns the written lines.
func Record(t *testing.T, p *host.Plugin, name, path string, scenario Scenario) []string {
	t.Helper()
	dm := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: name})
	d := dm.Docker()
	// The image and Swarm come before the plugin follows the daemon: their
	// events are set-up, not the scenario's.
	img := testdocker.Image(t, d)
	dm.SwarmInit(t)

	s := plugintest.Init(t, p, fmt.Sprintf(`{"host":%q,"flushInterval":10}`, dm.Host))
	inst := plugintest.Open(t, s, "")

	scenario(t, dm, d, img)
	d.Run(t, "volume", "create", endMarker)
	d.Run(t, "volume", "rm", endMarker)

	lines := collect(t, p, s, inst)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatalf("writing the fixture: %v", err)
	}
	t.Logf("recorded %d events into %s", len(lines), path)
	return lines
}

// collect reads the live instance until the end marker's destroy event and
// returns each event's JSON.
func collect(t *testing.T, p *host.Plugin, s *host.State, inst *host.Instance) []string {
	t.Helper()
	table := plugintest.Fields(t, p)
	str := func(e *host.Event, name string) string {
		v, err := s.ExtractOne(e, table[name].Field)
		if err != nil {
			t.Fatalf("extract %s: %v", name, err)
		}
		if !v.Present || len(v.Strings) == 0 {
			return "<NA>"
		}
		return v.Strings[0]
	}
	var lines []string
	plugintest.Drain(t, inst, deadline, func(e *host.Event) bool {
		data := e.Data()
		if k := bytes.IndexByte(data, 0); k >= 0 {
			data = data[:k]
		}
		lines = append(lines, string(data))
		if len(lines) == 1 {
			t.Logf("first event from daemon %s at %s", str(e, "docker.daemon.name"), str(e, "docker.host"))
		}
		return str(e, "docker.type") == "volume" && str(e, "docker.action") == "destroy" && str(e, "docker.actor.id") == endMarker
	})
	return lines
}
