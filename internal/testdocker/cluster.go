package testdocker

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The link between two private daemons: a veth pair, one end in each
// daemon's network namespace, on a subnet of its own. It dies with the
// namespaces, so the daemons' cleanup removes it.
const (
	linkManagerAddr = "10.214.0.1"
	linkWorkerAddr  = "10.214.0.2"
	linkPrefixLen   = "/24"
)

// SwarmInit runs `docker swarm init` on the private daemon, advertising
// 127.0.0.1, the loopback of its network namespace. It is a method of
// Daemon, so that the machine's daemon is never switched to Swarm mode.
func (d *Daemon) SwarmInit(t testing.TB) {
	t.Helper()
	d.Docker().Run(t, "swarm", "init", "--advertise-addr", "127.0.0.1")
}

// SwarmJoin makes a two-node Swarm of private daemons: manager inits it
// (advertising its end of a veth link between their network namespaces)
// and worker joins it as a worker. It returns the worker's node ID. Each
// daemon must come from StartDaemon, be in no Swarm yet and be linked to
// no other daemon (the link's interface names are fixed).
func SwarmJoin(t testing.TB, manager, worker *Daemon) (workerNodeID string) {
	t.Helper()
	link(t, manager, worker)
	m, w := manager.Docker(), worker.Docker()
	m.Run(t, "swarm", "init", "--advertise-addr", linkManagerAddr)
	token := m.Run(t, "swarm", "join-token", "-q", "worker")
	w.Run(t, "swarm", "join", "--token", token, "--advertise-addr", linkWorkerAddr, linkManagerAddr+":2377")
	id := w.Run(t, "info", "--format", "{{.Swarm.NodeID}}")
	if id == "" {
		t.Fatalf("testdocker.SwarmJoin: %s joined but reports no node ID", worker.Name)
	}
	return id
}

// link connects the network namespaces of a and b with a veth pair:
// a gets linkManagerAddr, b linkWorkerAddr.
func link(t testing.TB, a, b *Daemon) {
	t.Helper()
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("testdocker: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	ip("-n", a.netns, "link", "add", "fdtlink0", "type", "veth", "peer", "name", "fdtlink1", "netns", b.netns)
	for _, end := range []struct{ ns, dev, addr string }{
		{a.netns, "fdtlink0", linkManagerAddr},
		{b.netns, "fdtlink1", linkWorkerAddr},
	} {
		ip("-n", end.ns, "addr", "add", end.addr+linkPrefixLen, "dev", end.dev)
		ip("-n", end.ns, "link", "set", end.dev, "up")
	}
	t.Logf("testdocker: %s (%s) and %s (%s) linked", a.Name, linkManagerAddr, b.Name, linkWorkerAddr)
}
