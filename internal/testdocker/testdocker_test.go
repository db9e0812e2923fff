package testdocker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

func TestImageDefaultDaemon(t *testing.T) {
	Require(t)
	t.Parallel()
	dk := Docker{}
	start := time.Now()
	img := Image(t, dk)
	t.Logf("Image on the default daemon: %s in %v", img, time.Since(start))
	if !strings.HasPrefix(img, ImageRepo+":") {
		t.Fatalf("unexpected tag %q", img)
	}
	start = time.Now()
	if again := Image(t, dk); again != img {
		t.Fatalf("second Image call: %q != %q", again, img)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("second Image call took %v", d)
	}

	// Exit codes.
	_, err := dk.Try("run", "--rm", img, "/bin/tool", "exit", "3")
	if code := ExitCode(err); code != 3 {
		t.Fatalf("run exit 3: exit code %d (%v)", code, err)
	}
	_, err = dk.Try("run", "--rm", img, "sh", "-c", "exit 7")
	if code := ExitCode(err); code != 7 {
		t.Fatalf("run sh -c 'exit 7': exit code %d (%v)", code, err)
	}
	if out := dk.Run(t, "run", "--rm", img, "curl", "-s", "http://example.invalid/x"); out != "curl -s http://example.invalid/x" {
		t.Fatalf("curl output %q", out)
	}

	// Detached container with the default CMD, exec, stop (SIGTERM -> 143).
	name := uniqueName("testdocker")
	id := dk.Run(t, "run", "-d", "--name", name, img)
	t.Cleanup(func() { dk.Try("rm", "-f", id) })
	dk.Run(t, "exec", id, "sh", "-c", "id")
	dk.Run(t, "exec", id, "bash", "-c", "echo hello")
	dk.Run(t, "exec", id, "apt-get", "install", "-y", "nmap")
	_, err = dk.Try("exec", id, "sh", "-c", "exit 5")
	if code := ExitCode(err); code != 5 {
		t.Fatalf("exec sh -c 'exit 5': exit code %d (%v)", code, err)
	}
	if out := dk.Run(t, "inspect", "--format", "{{json .Config.Cmd}}", id); out != `["/bin/tool","sleep","3600"]` {
		t.Fatalf("Cmd = %s", out)
	}
	start = time.Now()
	dk.Run(t, "stop", "-t", "20", id)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("docker stop took %v: SIGTERM not handled?", d)
	}
	if code := dk.Run(t, "inspect", "--format", "{{.State.ExitCode}}", id); code != "143" {
		t.Errorf("exit code after stop = %s, want 143", code)
	}
	dk.Run(t, "rm", "-f", id)
}

// fatalRecorder is a testing.TB whose Fatal* record the message and end the
// goroutine, so that a helper's refusal can be asserted.
type fatalRecorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msg    string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalRecorder) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func expectFatal(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(rec) }()
	<-done
	if !rec.failed {
		t.Fatalf("expected a fatal failure")
	}
	return rec.msg
}

func TestSwarmInitRefusesMachineDaemon(t *testing.T) {
	Require(t)
	t.Parallel()
	msg := expectFatal(t, func(tb testing.TB) { SwarmInit(tb, Docker{}) })
	t.Logf("refused as expected: %s", msg)
	msg = expectFatal(t, func(tb testing.TB) { SwarmInit(tb, Docker{Host: "unix:///var/run/docker.sock"}) })
	t.Logf("refused as expected: %s", msg)
	if state := (Docker{}).Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}"); state != "inactive" {
		t.Errorf("machine daemon swarm state %q", state)
	}
}

// assertGone checks that nothing of a private daemon is left.
func assertGone(t *testing.T, root, netns string) {
	t.Helper()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root %s still exists (%v)", root, err)
	}
	if _, err := os.Stat(netnsPath(netns)); !os.IsNotExist(err) {
		t.Errorf("netns %s still exists (%v)", netns, err)
	}
	if pids := leftoverProcesses(root, ""); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	if m := mountsUnder(root); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		if state != last {
			t.Logf("waiting for %s: %s", what, state)
			last = state
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v (last state: %s)", what, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPrivateDaemonLifecycle(t *testing.T) {
	Require(t)
	t.Parallel()
	machineSwarm := (Docker{}).Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}")
	var root, netns string
	t.Run("daemon", func(t *testing.T) {
		var bodyDone time.Time
		t.Cleanup(func() {
			if !bodyDone.IsZero() {
				t.Logf("cleanup (stop + removal) took %v", time.Since(bodyDone))
			}
		})
		start := time.Now()
		d := StartDaemon(t, DaemonOptions{Name: "life"})
		t.Logf("private daemon %s started in %v (storage driver %s, pid %d)", d.NetNS, time.Since(start), d.StorageDriver, d.PID())
		root, netns = d.Root, d.NetNS
		dk := d.Docker()

		start = time.Now()
		img := Image(t, dk)
		t.Logf("Image in the private daemon in %v", time.Since(start))

		_, err := dk.Try("run", "--rm", img, "/bin/tool", "exit", "3")
		if code := ExitCode(err); code != 3 {
			t.Fatalf("run exit 3: exit code %d (%v)", code, err)
		}
		dk.Run(t, "run", "--rm", "--network", "none", img, "true")

		// Default bridge: reachable from the daemon's netns and from
		// another container.
		srv := dk.Run(t, "run", "-d", "--name", "srv", img, "/bin/tool", "serve", "8080")
		ip := dk.Run(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", srv)
		if ip == "" {
			t.Fatalf("no bridge IP")
		}
		waitFor(t, "server in the container answering from the netns", 10*time.Second, func() (bool, string) {
			out, err := d.NSCommand("bash", "-c", "exec 3<>/dev/tcp/"+ip+"/8080 && cat <&3").CombinedOutput()
			return err == nil && strings.HasPrefix(string(out), "tool "), fmt.Sprintf("%v %s", err, out)
		})
		out := dk.Run(t, "run", "--rm", img, "/bin/tool", "dial", ip+":8080")
		if !strings.HasPrefix(out, "tool ") {
			t.Fatalf("container to container: %q", out)
		}
		// User-defined bridge with name resolution by the embedded DNS.
		dk.Run(t, "network", "create", "tnet")
		dk.Run(t, "run", "-d", "--network", "tnet", "--name", "srv2", img, "/bin/tool", "serve", "8081")
		waitFor(t, "container to container by name on a user network", 10*time.Second, func() (bool, string) {
			out, err := dk.Try("run", "--rm", "--network", "tnet", img, "/bin/tool", "dial", "srv2:8081")
			return err == nil && strings.HasPrefix(out, "tool "), fmt.Sprintf("%v %s", err, out)
		})

		// Restart: the image and the containers survive.
		pid := d.PID()
		start = time.Now()
		d.Stop(t)
		t.Logf("stop took %v", time.Since(start))
		if d.Running() {
			t.Fatalf("still running after Stop")
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Fatalf("dockerd pid %d still exists after Stop", pid)
		}
		if _, err := dk.Try("version"); err == nil {
			t.Fatalf("docker version works on a stopped daemon")
		}
		d.Stop(t) // idempotent
		start = time.Now()
		d.Start(t)
		t.Logf("restart took %v", time.Since(start))
		dk.Run(t, "image", "inspect", img)
		if st := dk.Run(t, "inspect", "--format", "{{.State.Status}}", srv); st != "exited" {
			t.Errorf("srv after restart: %s", st)
		}
		d.Start(t) // no-op while running

		// Kill (crash) and start again.
		d.Kill(t)
		d.Start(t)
		dk.Run(t, "run", "--rm", img, "true")

		// Swarm.
		start = time.Now()
		SwarmInit(t, dk)
		t.Logf("swarm init took %v", time.Since(start))
		// --no-resolve-image: there is no registry to ask.
		dk.Run(t, "service", "create", "--detach", "--no-resolve-image", "--name", "s1", "--replicas", "1", img)
		waitFor(t, "service s1 with 1 running task", 60*time.Second, func() (bool, string) {
			out, err := dk.Try("service", "ps", "s1", "--format", "{{.DesiredState}} {{.CurrentState}} {{.Error}}")
			return err == nil && strings.HasPrefix(out, "Running Running"), fmt.Sprintf("%v %s", err, out)
		})
		if out := dk.Run(t, "service", "ls", "--format", "{{.Name}} {{.Replicas}}"); out != "s1 1/1" {
			t.Errorf("service ls: %q", out)
		}
		dk.RunInput(t, "s3cr3t\n", "secret", "create", "sec1", "-")
		if out := dk.Run(t, "secret", "ls", "--format", "{{.Name}}"); out != "sec1" {
			t.Errorf("secret ls: %q", out)
		}
		bodyDone = time.Now()
	})
	if root == "" {
		return
	}
	assertGone(t, root, netns)
	if after := (Docker{}).Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}"); after != machineSwarm {
		t.Errorf("machine daemon swarm state changed: %q -> %q", machineSwarm, after)
	}
}

func TestTwoDaemons(t *testing.T) {
	Require(t)
	t.Parallel()
	type gone struct{ root, netns string }
	var left []gone
	t.Run("daemons", func(t *testing.T) {
		a := StartDaemon(t, DaemonOptions{Name: "a"})
		b := StartDaemon(t, DaemonOptions{Name: "b"})
		left = append(left, gone{a.Root, a.NetNS}, gone{b.Root, b.NetNS})
		ids := map[string]bool{}
		for _, d := range []*Daemon{a, b} {
			dk := d.Docker()
			img := Image(t, dk)
			dk.Run(t, "run", "-d", "--name", "c-"+d.Name, img)
			ids[dk.Run(t, "info", "--format", "{{.ID}}")] = true
		}
		ids[(Docker{}).Run(t, "info", "--format", "{{.ID}}")] = true
		if len(ids) != 3 {
			t.Errorf("daemon IDs not distinct: %v", ids)
		}
		for _, d := range []*Daemon{a, b} {
			if out := d.Docker().Run(t, "ps", "--format", "{{.Names}}"); out != "c-"+d.Name {
				t.Errorf("daemon %s: ps = %q", d.Name, out)
			}
		}
		// Stopping one leaves the other alone.
		a.Stop(t)
		b.Docker().Run(t, "exec", "c-b", "true")
		a.Start(t)
		if out := a.Docker().Run(t, "ps", "-a", "--format", "{{.Names}}"); out != "c-a" {
			t.Errorf("daemon a after restart: ps -a = %q", out)
		}
	})
	for _, g := range left {
		assertGone(t, g.root, g.netns)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestGenerateTLS(t *testing.T) {
	dir := t.TempDir()
	server, client := GenerateTLS(t, dir, "127.0.0.1", "localhost")
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem", "server-cert.pem", "server-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	srvPair, err := tls.LoadX509KeyPair(server.Cert, server.Key)
	if err != nil {
		t.Fatal(err)
	}
	cliPair, err := tls.LoadX509KeyPair(client.Cert, client.Key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(client.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("bad CA PEM")
	}
	// A mutual-TLS handshake over loopback TCP.
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvPair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		if err := c.(*tls.Conn).Handshake(); err != nil {
			errc <- err
			return
		}
		_, err = c.Write([]byte("ok"))
		errc <- err
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{Certificates: []tls.Certificate{cliPair}, RootCAs: pool})
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read: %q %v", buf, err)
	}
	c.Close()
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
	leaf, _ := x509.ParseCertificate(cliPair.Certificate[0])
	if leaf.NotAfter.Sub(leaf.NotBefore) > 26*time.Hour {
		t.Errorf("client cert validity %v", leaf.NotAfter.Sub(leaf.NotBefore))
	}
}

func TestTLSDaemon(t *testing.T) {
	Require(t)
	t.Parallel()
	dir := t.TempDir()
	server, client := GenerateTLS(t, dir, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := StartDaemon(t, DaemonOptions{Name: "tls", TCPAddr: addr, TLS: &server})

	// Through the environment (DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
	tcp := d.TCPDocker(&client)
	if v := tcp.Run(t, "version", "--format", "{{.Server.Version}}"); v == "" {
		t.Fatalf("empty server version")
	}
	// Through flags.
	flags := Docker{Host: d.TCPHost}
	flags.Run(t, "--tlsverify", "--tlscacert", client.CA, "--tlscert", client.Cert, "--tlskey", client.Key, "version")
	// Without a client certificate the daemon refuses.
	if _, err := (Docker{Host: d.TCPHost}).Try("version", "--format", "{{.Server.Version}}"); err == nil {
		t.Fatalf("plain connection to a --tlsverify daemon worked")
	}
	// Same daemon as the unix socket.
	if a, b := tcp.Run(t, "info", "--format", "{{.ID}}"), d.Docker().Run(t, "info", "--format", "{{.ID}}"); a != b {
		t.Fatalf("tcp and unix reach different daemons: %s vs %s", a, b)
	}
	// While stopped the TCP port refuses connections; after Start it works.
	d.Stop(t)
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("TCP port %s accepts connections while the daemon is stopped", addr)
	}
	d.Start(t)
	tcp.Run(t, "version")
}

func TestPlainTCPDaemon(t *testing.T) {
	Require(t)
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := StartDaemon(t, DaemonOptions{Name: "tcp", TCPAddr: addr})
	d.TCPDocker(nil).Run(t, "version")
}
