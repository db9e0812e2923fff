package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// The burst of TestHighVolumeBurstLosesNothing: exec_create events (held in
// the daemon's memory, so they come as fast as the API is called) mixed
// with volume create and destroy events (written to disk, slower).
const (
	burstExecs   = 8000
	burstVolumes = 500
	burstWorkers = 8 // API calls in flight at once, per kind
)

// TestHighVolumeBurstLosesNothing streams a private daemon with the default
// configuration while thousands of events are made through the Engine API
// by concurrent clients, as on a busy Swarm node: every exec_create must
// arrive exactly once with its exec ID, and every volume's create and
// destroy exactly once, create first; no reconnect (the daemon drops a
// subscriber that falls 1024 events behind for 100 ms), no overflow, no
// next_batch error.
func TestHighVolumeBurstLosesNothing(t *testing.T) {
	d := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "burst"})
	img := testdocker.Image(t, d.Docker())
	target := d.Docker().Run(t, "run", "-d", img)
	s := initPlugin(t, fmt.Sprintf(`{"host":%q}`, d.Host))
	c := startCollector(t, openPlugin(t, s, ""))

	cli, err := client.NewClientWithOpts(client.WithHost(d.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	prefix := fmt.Sprintf("burst-%d-", time.Now().UnixNano()%1e9)
	volumeName := func(i int) string { return fmt.Sprintf("%s%d", prefix, i) }

	start := time.Now()
	execIDs := make([]string, burstExecs)
	var execs, volumes error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		execs = testdocker.Parallel(burstExecs, burstWorkers, func(i int) error {
			r, err := cli.ContainerExecCreate(ctx, target, container.ExecOptions{Cmd: []string{"/bin/tool", "true", fmt.Sprint(i)}})
			execIDs[i] = r.ID
			return err
		})
	}()
	go func() {
		defer wg.Done()
		if volumes = testdocker.Parallel(burstVolumes, burstWorkers, func(i int) error {
			_, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: volumeName(i)})
			return err
		}); volumes != nil {
			return
		}
		volumes = testdocker.Parallel(burstVolumes, burstWorkers, func(i int) error {
			return cli.VolumeRemove(ctx, volumeName(i), false)
		})
	}()
	wg.Wait()
	made := time.Since(start)
	if execs != nil || volumes != nil {
		t.Fatalf("burst: exec_create: %v; volumes: %v", execs, volumes)
	}
	total := burstExecs + 2*burstVolumes
	t.Logf("%d events made in %v (%.0f/s)", total, made.Round(time.Millisecond), float64(total)/made.Seconds())

	// The burst's events as delivered: exec IDs, and actions per volume.
	execSeen := map[string]int{}
	volumeSeen := map[string][]string{}
	n, scanned := 0, 0
	c.waitFor(t, 60*time.Second, "every event of the burst", func(evs []collected) bool {
		for _, e := range evs[scanned:] {
			var m struct {
				Type, Action string
				Actor        struct {
					ID         string
					Attributes map[string]string
				}
			}
			if err := json.Unmarshal([]byte(e.json), &m); err != nil {
				t.Errorf("delivered event is not JSON: %v: %.200s", err, e.json)
				continue
			}
			switch {
			case m.Type == "container" && strings.HasPrefix(m.Action, "exec_create: "):
				execSeen[m.Actor.Attributes["execID"]]++
				n++
			case m.Type == "volume" && strings.HasPrefix(m.Actor.ID, prefix):
				volumeSeen[m.Actor.ID] = append(volumeSeen[m.Actor.ID], m.Action)
				n++
			}
		}
		scanned = len(evs)
		return n >= total
	})

	for i, id := range execIDs {
		if execSeen[id] != 1 {
			t.Errorf("exec %d (%s): delivered %d times, want once", i, id, execSeen[id])
		}
	}
	for i := range burstVolumes {
		if got := volumeSeen[volumeName(i)]; len(got) != 2 || got[0] != "create" || got[1] != "destroy" {
			t.Errorf("volume %s: delivered %q, want [create destroy]", volumeName(i), got)
		}
	}
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
	m := metricsOf(s)
	for _, name := range []string{"reconnects", "resume_gaps", "queue_overflows", "events_too_large"} {
		if m[name] != 0 {
			t.Errorf("%s = %d during the burst, want 0", name, m[name])
		}
	}
}
