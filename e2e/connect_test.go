package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
	"github.com/falco-docker/plugin/internal/testdocker"
)

// machineSocket is the machine's Docker daemon, which these tests only read
// events from (and create and remove a volume on).
const machineSocket = "unix:///var/run/docker.sock"

// openHangGuard bounds a plugin_open that should fail or succeed within
// connectTimeout: not a speed target, only what turns a hang into a failure.
const openHangGuard = 30 * time.Second

// openWithin calls plugin_open on its own goroutine, failing the test if it
// is still blocked after openHangGuard; it returns the result and how long
// the call took.
func openWithin(t *testing.T, s *host.State) (*host.Instance, error, time.Duration) {
	t.Helper()
	type opened struct {
		inst *host.Instance
		err  error
	}
	start := time.Now()
	done := make(chan opened, 1)
	go func() {
		inst, err := s.Open("")
		done <- opened{inst, err}
	}()
	select {
	case o := <-done:
		if o.inst != nil {
			t.Cleanup(o.inst.Close)
		}
		return o.inst, o.err, time.Since(start)
	case <-time.After(openHangGuard):
		t.Fatalf("plugin_open still blocked after %v", openHangGuard)
		return nil, nil, 0
	}
}

// tlsClientConfig is init_config's tls block for client files.
func tlsClientConfig(client testdocker.TLSFiles) string {
	return fmt.Sprintf(`{"ca":%q,"cert":%q,"key":%q}`, client.CA, client.Cert, client.Key)
}

// A TLS endpoint that accepts the connection but never completes the
// handshake fails plugin_open within connectTimeout with an error naming
// it, and the failed opens leave no goroutine and no file descriptor.
func TestOpenStalledTLSHandshake(t *testing.T) {
	_, client := testdocker.GenerateTLS(t, t.TempDir(), "127.0.0.1")
	stalled := "tcp://" + testdocker.StartStalledListener(t)
	pprofAddr := plugintest.FreeLoopbackAddr(t)
	initPlugin(t, fmt.Sprintf(`{"pprofAddr":%q}`, pprofAddr)) // observes the plugin runtime's goroutines
	const timeout = 500 * time.Millisecond
	config := fmt.Sprintf(`{"host":%q,"tls":%s,"connectTimeout":%d}`, stalled, tlsClientConfig(client), timeout.Milliseconds())

	goroutines0, _ := pluginGoroutines(t, pprofAddr)
	fds0 := openFDs(t)
	const attempts = 5
	for i := 0; i < attempts; i++ {
		s := initPlugin(t, config)
		_, err, took := openWithin(t, s)
		t.Logf("open against a stalled TLS handshake: %v after %v", err, took)
		if err == nil || !strings.Contains(err.Error(), stalled) || !strings.Contains(err.Error(), "connectTimeout") {
			t.Fatalf("open = %v, want a connectTimeout error naming %s", err, stalled)
		}
		if took < timeout {
			t.Errorf("open failed after %v, before connectTimeout (%v) passed", took, timeout)
		}
		s.Destroy()
	}
	goroutines1, stacks := settledGoroutines(t, pprofAddr, goroutines0)
	fds1 := openFDs(t)
	for end := time.Now().Add(10 * time.Second); fds1 > fds0 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		fds1 = openFDs(t) // the listener closes its side once it sees ours closed
	}
	t.Logf("after %d failed opens: plugin goroutines %d -> %d, fds %d -> %d", attempts, goroutines0, goroutines1, fds0, fds1)
	if goroutines1 > goroutines0 {
		t.Errorf("plugin goroutines grew from %d to %d:\n%s", goroutines0, goroutines1, stacks)
	}
	if fds1 > fds0 {
		t.Errorf("file descriptors grew from %d to %d", fds0, fds1)
	}
}

// Among several hosts, a stalled TLS endpoint does not hold the open
// beyond connectTimeout nor keep the others' events from flowing.
func TestOpenStalledAndLiveHosts(t *testing.T) {
	testdocker.Require(t)
	_, client := testdocker.GenerateTLS(t, t.TempDir(), "127.0.0.1")
	stalled := "tcp://" + testdocker.StartStalledListener(t)
	s := initPlugin(t, fmt.Sprintf(`{"hosts":[%q,%q],"tls":%s,"connectTimeout":1000,"flushInterval":10}`, stalled, machineSocket, tlsClientConfig(client)))
	inst, err, took := openWithin(t, s)
	if err != nil {
		t.Fatalf("open with one stalled host among two: %v", err)
	}
	t.Logf("open with one stalled host among two: %v", took)
	c := startCollector(t, inst)

	d := testdocker.Docker{}
	volume := fmt.Sprintf("stalled-neighbour-%d", time.Now().UnixNano())
	d.Run(t, "volume", "create", volume)
	t.Cleanup(func() { d.Try("volume", "rm", volume) })
	got := c.waitFor(t, 30*time.Second, "the live daemon's event", func(evs []collected) bool {
		return hasActor(evs, "volume", "create", volume)
	})
	for _, e := range got {
		if e.host != machineSocket {
			t.Errorf("event %s from %q, want %s", e.json, e.host, machineSocket)
		}
	}
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}

// With tls configured, a unix socket is still spoken to in plain HTTP and a
// tcp:// endpoint with TLS: both deliver the same daemon's events, each
// tagged with its endpoint. (The tcp:// one is a TLS proxy that requires a
// client certificate in front of the same socket.)
func TestTLSForTCPHostsOnly(t *testing.T) {
	testdocker.Require(t)
	server, client := testdocker.GenerateTLS(t, t.TempDir(), "127.0.0.1")
	overTLS := testdocker.StartTLSProxy(t, server, strings.TrimPrefix(machineSocket, "unix://"))
	s := initPlugin(t, fmt.Sprintf(`{"hosts":[%q,%q],"tls":%s,"flushInterval":10}`, machineSocket, overTLS, tlsClientConfig(client)))
	inst, err, _ := openWithin(t, s)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	c := startCollector(t, inst)

	d := testdocker.Docker{}
	volume := fmt.Sprintf("tls-for-tcp-%d", time.Now().UnixNano())
	d.Run(t, "volume", "create", volume)
	t.Cleanup(func() { d.Try("volume", "rm", volume) })
	c.waitFor(t, 30*time.Second, "the event through both endpoints", func(evs []collected) bool {
		from := map[string]bool{}
		for _, e := range evs {
			if strings.Contains(e.json, `"ID":"`+volume+`"`) {
				from[e.host] = true
			}
		}
		return from[machineSocket] && from[overTLS]
	})
	if bad := c.errors(); len(bad) > 0 {
		t.Errorf("next_batch failed: %q", bad)
	}
}
