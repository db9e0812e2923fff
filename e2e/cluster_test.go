package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
	"github.com/falco-docker/plugin/stream"
)

// TestSwarmClusterThroughHosts watches a two-node Swarm (a manager and a
// worker linked by their own network) through one instance with hosts, as
// the rules README deploys Falco for a cluster: the worker's container
// events come tagged with the worker, the worker's promotion and demotion
// come (once) from a manager with docker.node.role.old/new, and every event
// is tagged with its daemon.
func TestSwarmClusterThroughHosts(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "mgr", swarmClusterThroughHosts)
}

func swarmClusterThroughHosts(t *testing.T, opts testdocker.DaemonOptions) {
	mgr, wrk := startTwoDaemons(t, opts)
	workerID := testdocker.SwarmJoin(t, mgr, wrk)
	img := testdocker.Image(t, wrk.Docker())
	s := initPlugin(t, fmt.Sprintf(`{"hosts":[%q,%q],"flushInterval":10}`, mgr.Host, wrk.Host))
	c := startExtractingCollector(t, s, openPlugin(t, s, ""), "docker.type", "docker.action", "docker.actor.id",
		"docker.attributes.name", "docker.scope", "docker.node.role.old", "docker.node.role.new", "docker.host")
	ev := func(typ, action, name, host string) func(collected) bool {
		return func(e collected) bool {
			f := e.fields
			return f["docker.type"] == typ && f["docker.action"] == action && f["docker.attributes.name"] == name && f["docker.host"] == host
		}
	}
	// Once the worker is a manager too, each Swarm event comes from
	// whichever manager reports it first (swarmDedupe drops the other).
	role := func(from, to string) func(collected) bool {
		return func(e collected) bool {
			f := e.fields
			return f["docker.type"] == "node" && f["docker.action"] == "update" && f["docker.actor.id"] == workerID &&
				f["docker.node.role.old"] == from && f["docker.node.role.new"] == to &&
				(f["docker.host"] == mgr.Host || f["docker.host"] == wrk.Host)
		}
	}
	seen := func(match func(collected) bool) func([]collected) bool {
		return func(evs []collected) bool {
			for _, e := range evs {
				if match(e) {
					return true
				}
			}
			return false
		}
	}

	// A secret the cluster has before the promotion (see the log below).
	mgr.Docker().RunInput(t, "s3cr3t", "secret", "create", "before-promotion", "-")
	wrk.Docker().Run(t, "run", "--rm", "--name", "on-worker", img, "/bin/tool", "true")
	c.waitFor(t, 30*time.Second, "the worker's container destroyed", seen(ev("container", "destroy", "on-worker", wrk.Host)))

	mgr.Docker().Run(t, "node", "promote", workerID)
	c.waitFor(t, 30*time.Second, "the promotion, from a manager", seen(role("worker", "manager")))
	// Demoting needs the new manager in the Raft member list.
	testdocker.WaitFor(t, 60*time.Second, func() bool {
		out, _ := mgr.Docker().Try("node", "inspect", "--format", "{{.ManagerStatus.Reachability}}", workerID)
		return out == "reachable"
	})
	mgr.Docker().RunInput(t, "s3cr3t", "secret", "create", "after-promotion", "-")
	c.waitFor(t, 30*time.Second, "the secret's creation, from a manager", func(evs []collected) bool {
		return seen(ev("secret", "create", "after-promotion", mgr.Host))(evs) || seen(ev("secret", "create", "after-promotion", wrk.Host))(evs)
	})

	mgr.Docker().Run(t, "node", "demote", workerID)
	got := c.waitFor(t, 30*time.Second, "the demotion, from a manager", seen(role("manager", "worker")))

	// Once promoted, the worker's daemon may report Swarm events too, and
	// then first reports the objects the cluster already had as created or
	// updated (see rules/README.md); Docker 20.10 does not always start
	// that soon, so it is logged, not required.
	fromPromoted := 0
	for _, e := range got {
		f := e.fields
		if f["docker.scope"] == "swarm" && e.host == wrk.Host {
			fromPromoted++
			t.Logf("from the promoted node: %s %s %s name=%s role=%s->%s", f["docker.type"], f["docker.action"],
				f["docker.actor.id"], f["docker.attributes.name"], f["docker.node.role.old"], f["docker.node.role.new"])
		}
		if f["docker.attributes.name"] == "on-worker" && e.host != wrk.Host {
			t.Errorf("the worker's container event %s %s came from %s", f["docker.type"], f["docker.action"], e.host)
		}
		if e.daemon == "" {
			t.Errorf("event %.100s has no daemon name", e.json)
		}
	}
	t.Logf("%d events, %d Swarm-scoped from the promoted node", len(got), fromPromoted)
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}

// TestSwarmEventsOnceAcrossManagers watches a Swarm of two managers with
// both in hosts, through two instances: one as configured by default, one
// with swarmDedupe off. Each manager reports every cluster change, so the
// second sees each change twice, once per manager; the first sees it once,
// and still sees twice two identical changes that really happened twice.
func TestSwarmEventsOnceAcrossManagers(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "mgr", swarmEventsOnceAcrossManagers)
}

func swarmEventsOnceAcrossManagers(t *testing.T, opts testdocker.DaemonOptions) {
	mgr, two := startTwoDaemons(t, opts)
	nodeID := testdocker.SwarmJoin(t, mgr, two)
	mgr.Docker().Run(t, "node", "promote", nodeID)
	testdocker.WaitFor(t, 60*time.Second, func() bool {
		out, _ := mgr.Docker().Try("node", "inspect", "--format", "{{.ManagerStatus.Reachability}}", nodeID)
		return out == "reachable"
	})

	hosts := fmt.Sprintf(`"hosts":[%q,%q],"flushInterval":10`, mgr.Host, two.Host)
	// Each open goes to the state initialised last (the SDK's open hook
	// is given no state): open each instance before the next init.
	onceState := initPlugin(t, "{"+hosts+"}")
	once := startCollector(t, openPlugin(t, onceState, ""))
	twiceState := initPlugin(t, "{"+hosts+`,"swarmDedupe":false}`)
	twice := startCollector(t, openPlugin(t, twiceState, ""))

	// A promoted node's daemon reports cluster events only once its
	// manager is up: probe until it does.
	for i := 0; ; i++ {
		name := fmt.Sprintf("probe-%d", i)
		mgr.Docker().RunInput(t, "x", "secret", "create", name, "-")
		if _, ok := twice.within(10*time.Second, func(evs []collected) bool { return hasSwarm(evs, "secret", "create", name, two.Host) }); ok {
			break
		}
		if i == 12 {
			t.Fatalf("the promoted node reports no Swarm events")
		}
	}

	d := mgr.Docker()
	d.RunInput(t, "s3cr3t", "secret", "create", "s-once", "-")
	d.RunInput(t, "conf", "config", "create", "c-once", "-")
	d.Run(t, "service", "create", "--detach", "--name", "svc-once", "--replicas", "0", "--no-resolve-image", "falco-docker-test/none:1")
	d.Run(t, "service", "update", "--detach", "--label-add", "k=v", "svc-once")
	// Two updates that change no reported attribute: two genuine, identical
	// node update events (name only), which must both be delivered.
	d.Run(t, "node", "update", "--label-add", "rep=1", nodeID)
	d.Run(t, "node", "update", "--label-add", "rep=2", nodeID)
	d.Run(t, "secret", "rm", "s-once")
	d.Run(t, "config", "rm", "c-once")

	done := func(wantHosts ...string) func([]collected) bool {
		return func(evs []collected) bool {
			for _, h := range wantHosts {
				if !hasSwarm(evs, "config", "remove", "c-once", h) {
					return false
				}
			}
			return true
		}
	}
	twiceGot := twice.waitFor(t, 60*time.Second, "the last change, from both managers", done(mgr.Host, two.Host))
	onceGot := once.waitFor(t, 60*time.Second, "the last change", func(evs []collected) bool {
		return hasSwarm(evs, "config", "remove", "c-once", mgr.Host) || hasSwarm(evs, "config", "remove", "c-once", two.Host)
	})
	// Each daemon's stream is in order, so the last change from either
	// means every change is in. A node that becomes a manager also reports
	// earlier changes of its own node object, stamped with their times in
	// the cluster store: only what happened from the first change above on
	// (the secret's create, same time from both managers) is compared.
	var since int64
	for _, e := range twiceGot {
		if hasSwarm([]collected{e}, "secret", "create", "s-once", e.host) {
			since = stream.TimeNano([]byte(e.json))
			break
		}
	}
	if since == 0 {
		t.Fatal("no secret create of s-once among the events")
	}
	mine := func(line string) bool {
		if stream.TimeNano([]byte(line)) < since {
			return false
		}
		for _, s := range []string{`"name":"s-once"`, `"name":"c-once"`, `"name":"svc-once"`, `"ID":"` + nodeID + `","Attributes":{"name":`} {
			if strings.Contains(line, s) && strings.Contains(line, `"scope":"swarm"`) {
				return true
			}
		}
		return false
	}
	perHost := map[string]map[string]int{} // key: host: count, swarmDedupe off
	times := map[string]map[string][]string{}
	for _, e := range twiceGot {
		if !mine(e.json) {
			continue
		}
		key, at := splitTime(e.json)
		if perHost[key] == nil {
			perHost[key], times[key] = map[string]int{}, map[string][]string{}
		}
		perHost[key][e.host]++
		times[key][e.host] = append(times[key][e.host], at)
	}
	onceCount := map[string]int{}
	onceTotal, twiceTotal := 0, 0
	for _, e := range onceGot {
		if mine(e.json) {
			key, _ := splitTime(e.json)
			onceCount[key]++
			onceTotal++
		}
	}
	if len(perHost) < 7 {
		t.Errorf("saw %d distinct changes with swarmDedupe off, want at least 7: %v", len(perHost), perHost)
	}
	dropped := 0
	for key, hosts := range perHost {
		m, w := hosts[mgr.Host], hosts[two.Host]
		t.Logf("%4d from mgr, %d from the promoted node, %d delivered once: %.110s... times mgr %v node %v",
			m, w, onceCount[key], key, times[key][mgr.Host], times[key][two.Host])
		if m != w {
			t.Errorf("the managers' lines differ beyond time/timeNano: %d vs %d of %s", m, w, key)
		}
		if onceCount[key] != max(m, w) {
			t.Errorf("delivered %d times with swarmDedupe on, want %d: %s", onceCount[key], max(m, w), key)
		}
		dropped += m + w - onceCount[key]
		twiceTotal += m + w
	}
	nodeKey := fmt.Sprintf(`"Type":"node","Action":"update","Actor":{"ID":"%s","Attributes":{"name":`, nodeID)
	for key, n := range onceCount {
		if strings.Contains(key, nodeKey) && n < 2 {
			t.Errorf("two identical node updates delivered %d times: %s", n, key)
		}
	}
	for key := range onceCount {
		if perHost[key] == nil {
			t.Errorf("delivered with swarmDedupe on only: %s", key)
		}
	}
	// The slower manager's copies may still be on their way to the
	// deduper: wait for them to be counted.
	testdocker.WaitFor(t, 30*time.Second, func() bool {
		return metricsOf(onceState)["swarm_duplicates_dropped"] >= uint64(dropped)
	})
	if got := metricsOf(twiceState)["swarm_duplicates_dropped"]; got != 0 {
		t.Errorf("swarm_duplicates_dropped = %d with swarmDedupe off", got)
	}
	t.Logf("these changes: %d delivered with swarmDedupe off, %d on, %d copies dropped (metric %d, probes included)",
		twiceTotal, onceTotal, dropped, metricsOf(onceState)["swarm_duplicates_dropped"])
	if bad := append(once.errors(), twice.errors()...); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}

// hasSwarm reports whether evs hold the Swarm event typ/action of the object
// named name, from host.
// startTwoDaemons starts the two nodes of a Swarm: private daemons as opts
// describes, the second named after the first (its name and a "b").
func startTwoDaemons(t *testing.T, opts testdocker.DaemonOptions) (first, second *testdocker.Daemon) {
	t.Helper()
	first = testdocker.StartDaemon(t, opts)
	opts.Name += "b"
	return first, testdocker.StartDaemon(t, opts)
}

func hasSwarm(evs []collected, typ, action, name, host string) bool {
	for _, e := range evs {
		if e.host == host && strings.Contains(e.json, `"Type":"`+typ+`","Action":"`+action+`"`) &&
			strings.Contains(e.json, `"name":"`+name+`"`) && strings.Contains(e.json, `"scope":"swarm"`) {
			return true
		}
	}
	return false
}

// splitTime cuts a daemon's line before its time members, which the daemon
// writes last.
func splitTime(line string) (rest, times string) {
	i := strings.LastIndex(line, `,"time":`)
	if i < 0 {
		return line, ""
	}
	return line[:i], line[i:]
}
