package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// TestSwarmClusterThroughHosts watches a two-node Swarm (a manager and a
// worker linked by their own network) through one instance with hosts, as
// the rules README deploys Falco for a cluster: the worker's container
// events come tagged with the worker, the worker's promotion and demotion
// come from the manager with docker.node.role.old/new, and every event is
// tagged with its daemon.
func TestSwarmClusterThroughHosts(t *testing.T) {
	mgr := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "mgr"})
	wrk := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "wrk"})
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
	role := func(from, to string) func(collected) bool {
		return func(e collected) bool {
			f := e.fields
			return f["docker.type"] == "node" && f["docker.action"] == "update" && f["docker.actor.id"] == workerID &&
				f["docker.node.role.old"] == from && f["docker.node.role.new"] == to && f["docker.host"] == mgr.Host
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
	c.waitFor(t, 30*time.Second, "the promotion, from the manager", seen(role("worker", "manager")))
	// Demoting needs the new manager in the Raft member list.
	testdocker.WaitFor(t, 60*time.Second, func() bool {
		out, _ := mgr.Docker().Try("node", "inspect", "--format", "{{.ManagerStatus.Reachability}}", workerID)
		return out == "reachable"
	})
	mgr.Docker().RunInput(t, "s3cr3t", "secret", "create", "after-promotion", "-")
	c.waitFor(t, 30*time.Second, "the secret's creation, from the manager", seen(ev("secret", "create", "after-promotion", mgr.Host)))

	mgr.Docker().Run(t, "node", "demote", workerID)
	got := c.waitFor(t, 30*time.Second, "the demotion, from the manager", seen(role("manager", "worker")))

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
