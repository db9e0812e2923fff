package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// TestTwoDaemonsOneKilled streams two private daemons through one instance
// (hosts), a Docker 20.10 and a Docker 29 as in a cluster halfway through an
// upgrade, tags each event with its daemon, and keeps the survivor flowing
// after the other is killed.
func TestTwoDaemonsOneKilled(t *testing.T) {
	testdocker.Require(t)
	a := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "hosta"})
	b := testdocker.StartDaemon(t, testdocker.Docker29(t, "hostb"))
	s := initPlugin(t, fmt.Sprintf(`{"hosts":[%q,%q],"flushInterval":10,"reconnectMin":20,"reconnectMax":200}`, a.Host, b.Host))
	c := startCollector(t, openPlugin(t, s, ""))

	a.Docker().Run(t, "volume", "create", "on-a")
	b.Docker().Run(t, "volume", "create", "on-b")
	got := c.waitFor(t, 30*time.Second, "one event from each daemon", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", "on-a") && hasActor(evs, "volume", "create", "on-b")
	})
	for _, e := range got {
		switch {
		case strings.Contains(e.json, `"ID":"on-a"`) && e.host != a.Host,
			strings.Contains(e.json, `"ID":"on-b"`) && e.host != b.Host:
			t.Errorf("event %s tagged with host %q", e.json, e.host)
		}
		if e.daemon == "" {
			t.Errorf("event %s has no daemon name", e.json)
		}
	}

	a.Kill(t)
	for i := 0; i < 5; i++ {
		b.Docker().Run(t, "volume", "create", fmt.Sprintf("b-after-kill-%d", i))
	}
	got = c.waitFor(t, 30*time.Second, "the survivor's events after the kill", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", "b-after-kill-4")
	})
	for i := 0; i < 5; i++ {
		if !hasActor(got, "volume", "create", fmt.Sprintf("b-after-kill-%d", i)) {
			t.Errorf("b-after-kill-%d missing", i)
		}
	}
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
	if m := metricsOf(s); m["daemons_connected"] != 1 {
		t.Errorf("docker.daemons_connected = %d with one daemon killed, want 1", m["daemons_connected"])
	}

	// The killed daemon comes back and flows again.
	a.Start(t)
	a.Docker().Run(t, "volume", "create", "a-back")
	c.waitFor(t, 30*time.Second, "the restarted daemon's event", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", "a-back")
	})
}

// TestPausedConsumer: a consumer that stops calling next_batch loses nothing
// up to queueSize; beyond it, the reader keeps draining the daemon (which
// would otherwise drop the subscriber) and counts the overflow.
func TestPausedConsumer(t *testing.T) {
	testdocker.Require(t)
	dm := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "pause"})
	d := dm.Docker()
	const queueSize = 40
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"queueSize":%d,"flushInterval":10}`, dm.Host, queueSize))
	inst := openPlugin(t, s, "")

	generate := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			d.Run(t, "volume", "create", fmt.Sprintf("%s-%d", prefix, i))
		}
	}
	// waitQueued polls the plugin's metrics (the reader's progress) until
	// want events are queued or counted as overflow.
	waitQueued := func(want uint64) map[string]uint64 {
		end := time.Now().Add(30 * time.Second)
		for {
			m := metricsOf(s)
			if m["queue_length"]+m["queue_overflows"] >= want || time.Now().After(end) {
				return m
			}
			time.Sleep(20 * time.Millisecond) // polling the reader's counters, not synchronising code under test
		}
	}
	drain := func() []string {
		var names []string
		for {
			batch, rc, err := inst.NextBatch()
			if err != nil {
				t.Fatal(err)
			}
			for i := range batch {
				names = append(names, strings.SplitN(string(batch[i].Data()), "\x00", 2)[0])
			}
			if len(batch) == 0 && rc != 0 {
				return names
			}
		}
	}

	generate("within", queueSize/2)
	waitQueued(queueSize / 2)
	if got := drain(); len(got) != queueSize/2 {
		t.Fatalf("after a pause within the queue size: %d events, want %d", len(got), queueSize/2)
	}
	generate("beyond", 100)
	m := waitQueued(100)
	got := drain()
	if len(got) != queueSize || m["queue_overflows"] != 100-queueSize {
		t.Fatalf("after a pause beyond the queue size: %d delivered (want %d), %d overflows counted (want %d)", len(got), queueSize, m["queue_overflows"], 100-queueSize)
	}
	for i, e := range got { // the first queueSize events, in order
		if !strings.Contains(e, fmt.Sprintf(`"ID":"beyond-%d"`, i)) {
			t.Fatalf("event %d = %s, want beyond-%d", i, e, i)
		}
	}
}

// TestDaemonSideFilters: only events matching init_config filters arrive.
// (The daemon matches label filters against event attributes: containers
// carry their labels, volumes and networks do not.)
func TestDaemonSideFilters(t *testing.T) {
	testdocker.Require(t)
	dm := testdocker.StartDaemon(t, testdocker.DaemonOptions{Name: "filter"})
	d := dm.Docker()
	img := testdocker.Image(t, d)
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10,"filters":{"type":["container"],"event":["create"],"label":["team=blue"]}}`, dm.Host))
	c := startCollector(t, openPlugin(t, s, ""))
	d.Run(t, "create", "--name", "red", "--label", "team=red", img)
	d.Run(t, "volume", "create", "--label", "team=blue", "blue-vol")
	d.Run(t, "create", "--name", "nolabel", img)
	d.Run(t, "create", "--name", "blue", "--label", "team=blue", img)
	d.Run(t, "rm", "blue")
	d.Run(t, "create", "--name", "blue-end", "--label", "team=blue", img)
	got := c.waitFor(t, 30*time.Second, "the last matching event", func(evs []collected) bool {
		for _, e := range evs {
			if strings.Contains(e.json, `"name":"blue-end"`) {
				return true
			}
		}
		return false
	})
	if len(got) != 2 || !strings.Contains(got[0].json, `"name":"blue"`) {
		t.Errorf("delivered %d events, want only the create events of the 2 blue containers: %v", len(got), got)
	}
}

// TestTCPWithTLS streams a daemon over tcp:// with TLS client certificates;
// verification is on: a CA that did not sign the daemon's certificate fails
// the open, naming the endpoint, without printing any key material.
func TestTCPWithTLS(t *testing.T) {
	testdocker.Require(t)
	onEachDocker(t, "tls", tcpWithTLS)
}

func tcpWithTLS(t *testing.T, opts testdocker.DaemonOptions) {
	certs := t.TempDir()
	server, client := testdocker.GenerateTLS(t, certs, "127.0.0.1")
	opts.TCPAddr, opts.TLS = plugintest.FreeLoopbackAddr(t), &server
	dm := testdocker.StartDaemon(t, opts)
	tlsCfg := fmt.Sprintf(`{"ca":%q,"cert":%q,"key":%q}`, client.CA, client.Cert, client.Key)
	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"tls":%s,"flushInterval":10}`, dm.TCPHost, tlsCfg))
	c := startCollector(t, openPlugin(t, s, ""))
	dm.Docker().Run(t, "volume", "create", "over-tls")
	got := c.waitFor(t, 30*time.Second, "an event over TLS", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", "over-tls")
	})
	if got[len(got)-1].host != dm.TCPHost {
		t.Errorf("docker.host = %q, want %q", got[len(got)-1].host, dm.TCPHost)
	}

	// Another CA: the daemon's certificate does not verify.
	otherDir := t.TempDir()
	_, other := testdocker.GenerateTLS(t, otherDir, "127.0.0.1")
	s2 := initPlugin(t, fmt.Sprintf(`{"host":%q,"tls":{"ca":%q,"cert":%q,"key":%q}}`, dm.TCPHost, other.CA, client.Cert, client.Key))
	_, err := s2.Open("")
	if err == nil || !strings.Contains(err.Error(), dm.TCPHost) {
		t.Fatalf("open with an untrusted daemon certificate = %v, want an error naming %s", err, dm.TCPHost)
	}
	key, _ := os.ReadFile(client.Key)
	if strings.Contains(err.Error(), strings.Split(string(key), "\n")[1]) {
		t.Errorf("the error shows key material: %v", err)
	}
	// No client certificate: the daemon (--tlsverify) refuses us.
	s3 := initPlugin(t, fmt.Sprintf(`{"host":%q,"tls":{"ca":%q}}`, dm.TCPHost, client.CA))
	if _, err := s3.Open(""); err == nil {
		t.Error("open without a client certificate succeeded")
	}
	// A key file that does not exist is named, not read.
	s4 := initPlugin(t, fmt.Sprintf(`{"host":%q,"tls":{"ca":%q,"cert":%q,"key":%q}}`, dm.TCPHost, client.CA, client.Cert, filepath.Join(certs, "missing-key.pem")))
	if _, err := s4.Open(""); err == nil || !strings.Contains(err.Error(), "missing-key.pem") {
		t.Errorf("open with a missing key file = %v", err)
	}
}
