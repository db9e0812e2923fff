package stream

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// fakeSocket starts a fake daemon (see fakeDaemon) on a unix socket, with one
// volume create in its ring, and returns the socket.
func fakeSocket(t *testing.T) string {
	fd := newFakeDaemon(t, 0, false)
	fd.emit("volume")
	return fd.addr
}

// connectAndRead does what plugin_open does with one daemon (ping, info,
// subscribe) and reads the first event line.
func connectAndRead(t *testing.T, cfg DaemonConfig) (*Daemon, error) {
	t.Helper()
	d, err := NewDaemon(cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := d.Ping(ctx); err != nil {
		return d, err
	}
	if _, _, err := d.Identify(ctx); err != nil {
		return d, err
	}
	// From the start of the ring, which holds the fake's one event.
	sub, err := d.Subscribe(ctx, StreamOptions{Since: time.Unix(1, 0)})
	if err != nil {
		return d, err
	}
	defer sub.Close()
	line, err := bufio.NewReader(sub.body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"Action":"create"`) {
		t.Fatalf("first event from %s: %q, %v", d.Host(), line, err)
	}
	return d, nil
}

// clearDockerEnv unsets the docker CLI's variables for the test.
func clearDockerEnv(t *testing.T) {
	for _, k := range []string{"DOCKER_HOST", "DOCKER_API_VERSION", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_TLS", "DOCKER_CONFIG"} {
		t.Setenv(k, "")
	}
}

// TLS is on, as in the docker CLI, when DOCKER_TLS_VERIFY or DOCKER_TLS is
// set, with the files of DOCKER_CERT_PATH (else DOCKER_CONFIG, else
// ~/.docker); DOCKER_CERT_PATH alone does not turn it on. Verification is
// on in every case.
func TestTLSFromTheEnvironmentAsTheDockerCLI(t *testing.T) {
	clearDockerEnv(t)
	certs := t.TempDir()
	_, client := testdocker.GenerateTLS(t, certs, "127.0.0.1")
	withClientCert := TLSFiles{CA: client.CA, Cert: client.Cert, Key: client.Key, Verify: true}

	t.Setenv("DOCKER_CERT_PATH", certs)
	if files := tlsFromEnv(); files != nil {
		t.Errorf("DOCKER_CERT_PATH alone: TLS %+v, want none", *files)
	}
	for _, env := range []struct{ name, value string }{
		{"DOCKER_TLS_VERIFY", "1"},
		{"DOCKER_TLS_VERIFY", "0"}, // any non-empty value, as the CLI
		{"DOCKER_TLS", "1"},        // the CLI would not verify: we do
	} {
		t.Run(env.name+"="+env.value, func(t *testing.T) {
			t.Setenv(env.name, env.value)
			if files := tlsFromEnv(); files == nil || *files != withClientCert {
				t.Errorf("TLS = %+v, want %+v", files, withClientCert)
			}
		})
	}

	// Without DOCKER_CERT_PATH, the configuration directory; a client key
	// pair that is not there is left out.
	t.Setenv("DOCKER_CERT_PATH", "")
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	configDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", configDir)
	want := TLSFiles{CA: filepath.Join(configDir, "ca.pem"), Verify: true}
	if files := tlsFromEnv(); files == nil || *files != want {
		t.Errorf("TLS from DOCKER_CONFIG = %+v, want %+v", files, want)
	}
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("HOME", configDir)
	want.CA = filepath.Join(configDir, ".docker", "ca.pem")
	if files := tlsFromEnv(); files == nil || *files != want {
		t.Errorf("TLS from ~/.docker = %+v, want %+v", files, want)
	}
	// Its CA is missing: the client cannot be made, and the error names the
	// file.
	if _, err := NewDaemon(DaemonConfig{Host: "tcp://127.0.0.1:2376"}); err == nil || !strings.Contains(err.Error(), want.CA) {
		t.Errorf("NewDaemon with a missing CA = %v, want an error naming %s", err, want.CA)
	}
}

// TLS is for tcp:// endpoints only: with it configured, a unix socket is
// still spoken to in plain HTTP, a TLS endpoint with TLS, and either way
// the whole connect (ping, info, events) works.
func TestTLSOnlyOverTCP(t *testing.T) {
	clearDockerEnv(t)
	socket := fakeSocket(t)
	certs := t.TempDir()
	server, client := testdocker.GenerateTLS(t, certs, "127.0.0.1")
	tlsHost := testdocker.StartTLSProxy(t, server, socket)
	files := &TLSFiles{CA: client.CA, Cert: client.Cert, Key: client.Key, Verify: true}

	for _, host := range []string{"unix://" + socket, tlsHost} {
		if _, err := connectAndRead(t, DaemonConfig{Host: host, TLS: files}); err != nil {
			t.Errorf("%s with TLS configured: %v", host, err)
		}
	}
	// Without TLS, the TLS endpoint refuses us: the success above was TLS.
	if _, err := connectAndRead(t, DaemonConfig{Host: tlsHost}); err == nil {
		t.Errorf("%s without TLS succeeded", tlsHost)
	}

	// The environment's way: DOCKER_CERT_PATH alone leaves TLS off...
	t.Setenv("DOCKER_CERT_PATH", certs)
	t.Setenv("DOCKER_HOST", "unix://"+socket)
	if _, err := connectAndRead(t, DaemonConfig{}); err != nil {
		t.Errorf("DOCKER_CERT_PATH alone, DOCKER_HOST=unix://: %v", err)
	}
	// ...DOCKER_TLS_VERIFY turns it on for tcp://, verifying the daemon...
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	if _, err := connectAndRead(t, DaemonConfig{}); err != nil {
		t.Errorf("DOCKER_TLS_VERIFY=1, DOCKER_HOST=unix://: %v", err)
	}
	t.Setenv("DOCKER_HOST", tlsHost)
	if _, err := connectAndRead(t, DaemonConfig{}); err != nil {
		t.Errorf("DOCKER_TLS_VERIFY=1, DOCKER_HOST=%s: %v", tlsHost, err)
	}
	// ...against its CA: a daemon certificate from another CA fails.
	other := t.TempDir()
	otherServer, _ := testdocker.GenerateTLS(t, other, "127.0.0.1")
	t.Setenv("DOCKER_HOST", testdocker.StartTLSProxy(t, otherServer, socket))
	if _, err := connectAndRead(t, DaemonConfig{}); err == nil {
		t.Error("DOCKER_TLS_VERIFY=1: a daemon certificate from another CA was accepted")
	}
}

// A daemon that accepts the connection but never completes the TLS
// handshake fails each call within the connect timeout, and the failed
// attempts leave no goroutine and no file descriptor behind.
func TestStalledTLSHandshakeIsBounded(t *testing.T) {
	clearDockerEnv(t)
	_, client := testdocker.GenerateTLS(t, t.TempDir(), "127.0.0.1")
	host := "tcp://" + testdocker.StartStalledListener(t)
	files := &TLSFiles{CA: client.CA, Cert: client.Cert, Key: client.Key, Verify: true}
	const timeout = 300 * time.Millisecond
	const hangGuard = 30 * time.Second // not a speed target: a hang fails here

	goroutines0, fds0 := runtime.NumGoroutine(), openFDs(t)
	const attempts = 5
	var slowest time.Duration
	for i := 0; i < attempts; i++ {
		d, err := NewDaemon(DaemonConfig{Host: host, TLS: files, ConnectTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct {
			name string
			do   func(ctx context.Context) error
		}{
			{"ping", d.Ping},
			{"info", func(ctx context.Context) error { _, _, err := d.Identify(ctx); return err }},
			{"subscribe", func(ctx context.Context) error {
				sub, err := d.Subscribe(ctx, StreamOptions{})
				if err == nil {
					sub.Close()
				}
				return err
			}},
		} {
			start := time.Now()
			errc := make(chan error, 1)
			go func() { errc <- call.do(context.Background()) }()
			select {
			case err := <-errc:
				took := time.Since(start)
				slowest = max(slowest, took)
				if i == 0 {
					t.Logf("%s: %v", call.name, err)
				}
				if err == nil || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "connectTimeout") || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s against a stalled TLS handshake = %v, want a connectTimeout error naming %s", call.name, err, host)
				}
				if took < timeout {
					t.Errorf("%s failed after %v, before the %v connect timeout: %v", call.name, took, timeout, err)
				}
			case <-time.After(hangGuard):
				t.Fatalf("%s against a stalled TLS handshake still blocked after %v", call.name, hangGuard)
			}
		}
		d.Close()
	}
	t.Logf("slowest failed call: %v (connect timeout %v)", slowest, timeout)

	goroutines1, fds1 := settle(func() (int, int) { return runtime.NumGoroutine(), openFDs(t) }, goroutines0, fds0)
	t.Logf("after %d failed connects: goroutines %d -> %d, fds %d -> %d", attempts, goroutines0, goroutines1, fds0, fds1)
	if goroutines1 > goroutines0 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines grew from %d to %d:\n%s", goroutines0, goroutines1, buf[:runtime.Stack(buf, true)])
	}
	if fds1 > fds0 {
		t.Errorf("open file descriptors grew from %d to %d", fds0, fds1)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}

// settle samples count until both values are down to the wanted ones, or
// 10 s have passed: a closed connection's goroutines (net/http's, the test
// listener's) and descriptors go shortly after the close, not at once.
func settle(count func() (int, int), wantA, wantB int) (int, int) {
	a, b := count()
	for end := time.Now().Add(10 * time.Second); (a > wantA || b > wantB) && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		a, b = count()
	}
	return a, b
}

// The same rules against the machine's daemon: DOCKER_CERT_PATH alone and
// the default socket connect without TLS; DOCKER_TLS_VERIFY=1 with a
// tcp:// DOCKER_HOST connects with TLS (through a TLS proxy in front of
// the socket, which refuses plain HTTP).
func TestTLSFromTheEnvironmentWithTheMachineDaemon(t *testing.T) {
	testdocker.Require(t)
	clearDockerEnv(t)
	certs := t.TempDir()
	server, _ := testdocker.GenerateTLS(t, certs, "127.0.0.1")
	connect := func(t *testing.T) string {
		t.Helper()
		d, err := NewDaemon(DaemonConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.Identify(ctx); err != nil {
			t.Fatal(err)
		}
		sub, err := d.Subscribe(ctx, StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sub.Close()
		return d.Host()
	}

	t.Setenv("DOCKER_CERT_PATH", certs)
	if host := connect(t); host != client.DefaultDockerHost {
		t.Errorf("DOCKER_CERT_PATH alone: connected to %s, want %s", host, client.DefaultDockerHost)
	}
	overTLS := testdocker.StartTLSProxy(t, server, strings.TrimPrefix(client.DefaultDockerHost, "unix://"))
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	t.Setenv("DOCKER_HOST", overTLS)
	if host := connect(t); host != overTLS {
		t.Errorf("DOCKER_TLS_VERIFY=1: connected to %s, want %s", host, overTLS)
	}
}
