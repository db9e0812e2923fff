package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// runTimeout bounds a demo run in the tests: a round takes a few seconds
// (health checks every second); it is reached only when an event is missing.
const runTimeout = 90 * time.Second

// wantedEvents are the events a demo run must show, as checks on its own
// events (told apart by the run ID in their names and labels): those the
// shipped rules are about.
func wantedEvents(runID string) map[string]func(eventRecord) bool {
	prefix := "falco-docker-demo-" + runID + "-"
	container := func(action string, ok func(eventRecord) bool) func(eventRecord) bool {
		return func(r eventRecord) bool {
			typ, _ := r.Get("type")
			got, _ := r.Get("action.name")
			label, _ := r.Get("attributes[" + demoLabel + "]")
			return typ == "container" && got == action && label == runID && ok(r)
		}
	}
	is := func(field, want string) func(eventRecord) bool {
		return func(r eventRecord) bool { v, _ := r.Get(field); return v == want }
	}
	always := func(eventRecord) bool { return true }
	object := func(typ, field string) func(eventRecord) bool {
		return func(r eventRecord) bool {
			got, _ := r.Get("type")
			action, _ := r.Get("action")
			v, _ := r.Get(field)
			return got == typ && action == "create" && strings.HasPrefix(v, prefix)
		}
	}
	return map[string]func(eventRecord) bool{
		"container start":         container("start", always),
		"exec_create sh -c id":    container("exec_create", is("exec.command", "sh -c id")),
		"exec_start sh -c id":     container("exec_start", is("exec.command", "sh -c id")),
		"kill signal 9":           container("kill", is("signal", "9")),
		"die non-zero exit code":  container("die", func(r eventRecord) bool { v, _ := r.Get("exitcode"); return v != "" && v != "0" }),
		"health_status healthy":   container("health_status", is("health.status", "healthy")),
		"health_status unhealthy": container("health_status", is("health.status", "unhealthy")),
		"volume create":           object("volume", "actor.id"),
		"network create":          object("network", "attributes.name"),
	}
}

// demoRun is one in-process run of the demo with the generator, stopped as
// soon as every wanted event of its own was seen.
type demoRun struct {
	runID   string
	out     bytes.Buffer
	missing []string
	sum     *summary
	err     error
}

func runDemo(t *testing.T) *demoRun {
	t.Helper()
	runID, err := newRunID()
	if err != nil {
		t.Fatal(err)
	}
	d := &demoRun{runID: runID}
	wanted := wantedEvents(runID)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	d.sum, d.err = tail(ctx, plugin, options{
		RulesPath: rulesPath,
		RunID:     runID,
		Out:       &d.out,
		Log:       testWriter{t},
		OnEvent: func(r eventRecord) {
			for name, ok := range wanted {
				if ok(r) {
					delete(wanted, name)
				}
			}
			if len(wanted) == 0 {
				cancel()
			}
		},
	})
	for name := range wanted {
		d.missing = append(d.missing, name)
	}
	return d
}

// TestDemoGeneratesRuleEvents runs two demos at once against the machine's
// daemon: each must show its own start, shell exec, SIGKILL, non-zero exit,
// healthy and unhealthy health statuses, volume and network, not collide
// with the other, print its summary with the plugin's metrics, and leave
// nothing labelled with its run ID behind.
func TestDemoGeneratesRuleEvents(t *testing.T) {
	testdocker.Require(t)
	t.Parallel()
	runs := make([]*demoRun, 2)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { runs[i] = runDemo(t) })
	}
	wg.Wait()
	if runs[0].runID == runs[1].runID {
		t.Fatalf("two runs with the same run ID %s", runs[0].runID)
	}
	for _, d := range runs {
		if d.err != nil {
			t.Errorf("run %s: %v", d.runID, d.err)
		}
		if len(d.missing) > 0 {
			t.Errorf("run %s: no %s event within %s; output:\n%s", d.runID, strings.Join(d.missing, ", "), runTimeout, d.out.String())
		}
		assertNothingLeft(t, d.runID)
		if d.sum == nil {
			continue
		}
		out := d.out.String()
		if !strings.Contains(out, fmt.Sprintf("=== %d events in ", d.sum.Total)) {
			t.Errorf("run %s: no summary line for %d events in the output", d.runID, d.sum.Total)
		}
		if d.sum.Count("container", "kill") == 0 || d.sum.Count("container", "health_status: unhealthy") == 0 {
			t.Errorf("run %s: summary counts %v lack container kill or health_status: unhealthy", d.runID, d.sum.Counts)
		}
		delivered := false
		for _, m := range d.sum.Metrics {
			if !strings.Contains(out, "  "+m.Name+" ") {
				t.Errorf("run %s: metric %s not in the summary", d.runID, m.Name)
			}
			// Named docker.events_delivered or events_delivered, depending on
			// the plugin version: every event it delivered was shown.
			if strings.HasSuffix(m.Name, "events_delivered") {
				delivered = true
				if m.Value != uint64(d.sum.Total) {
					t.Errorf("run %s: %s = %d, the demo showed %d events", d.runID, m.Name, m.Value, d.sum.Total)
				}
			}
		}
		if !delivered {
			t.Errorf("run %s: no events_delivered metric in %v", d.runID, d.sum.Metrics)
		}
	}
}

// TestDemoInterruptCleansUp runs the built demo binary as make demo does,
// twice at once: each waits until it showed a container of its own started,
// then gets SIGINT (as Ctrl-C sends) or SIGTERM and must exit cleanly, with
// its summary, having removed everything it created.
func TestDemoInterruptCleansUp(t *testing.T) {
	testdocker.Require(t)
	t.Parallel()
	bin := t.TempDir() + "/docker-tail"
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race") // reuses the test's compiled packages
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			interruptDemo(t, bin, sig)
		})
	}
}

func interruptDemo(t *testing.T, bin string, sig os.Signal) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-plugin", os.Getenv("DOCKER_PLUGIN_SO"), "-rules", rulesPath, "-generate")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := bufio.NewScanner(stdout)
	runIDLine := regexp.MustCompile(`^generating events: run ([0-9a-f]+),`)
	runID, started := "", false
	for !started && lines.Scan() {
		line := lines.Text()
		out.WriteString(line + "\n")
		if m := runIDLine.FindStringSubmatch(line); m != nil {
			runID = m[1]
		}
		started = runID != "" && strings.Contains(line, ` "start" `) &&
			strings.Contains(line, "attributes.name=falco-docker-demo-"+runID+"-")
	}
	if !started {
		cmd.Wait()
		t.Fatalf("no container start of its own before the demo ended; stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("demo after %v: %v; stderr:\n%s", sig, err, stderr.String())
	}
	if !strings.Contains(out.String(), "\n=== ") {
		t.Errorf("no summary after %v; stdout:\n%s", sig, out.String())
	}
	assertNothingLeft(t, runID)
}

// assertNothingLeft fails if a container, network, volume or image still
// carries the label of runID.
func assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	left, err := leftovers(demoLabel + "=" + runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("run %s left %v", runID, left)
		removeLabelled(demoLabel + "=" + runID)
	}
}

// testWriter logs each write (one line of the generator) to the test.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
