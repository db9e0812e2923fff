package testdocker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"testing"
)

// TestImageTool checks the test image's tool where the e2e tests rely on it:
// the exit codes of runs and execs (the exitCode of die and exec_die
// events), the commands it stands in for, its default CMD and how that ends
// on docker stop (143: SIGTERM, the stop's die event).
func TestImageTool(t *testing.T) {
	Require(t)
	t.Parallel()
	dk := Docker{}
	img := Image(t, dk)
	if again := Image(t, dk); again != img {
		t.Fatalf("second Image call: %q != %q", again, img)
	}

	if _, err := dk.Try("run", "--rm", img, "/bin/tool", "exit", "3"); ExitCode(err) != 3 {
		t.Errorf("run /bin/tool exit 3: %v", err)
	}
	if _, err := dk.Try("run", "--rm", img, "sh", "-c", "exit 7"); ExitCode(err) != 7 {
		t.Errorf("run sh -c 'exit 7': %v", err)
	}
	if out := dk.Run(t, "run", "--rm", img, "curl", "-s", "http://example.invalid/x"); out != "curl -s http://example.invalid/x" {
		t.Errorf("curl printed %q, want its arguments", out)
	}

	id := dk.Run(t, "run", "-d", img)
	t.Cleanup(func() { dk.Try("rm", "-f", id) })
	dk.Run(t, "exec", id, "apt-get", "install", "-y", "nmap")
	if _, err := dk.Try("exec", id, "sh", "-c", "exit 5"); ExitCode(err) != 5 {
		t.Errorf("exec sh -c 'exit 5': %v", err)
	}
	if out := dk.Run(t, "inspect", "--format", "{{json .Config.Cmd}}", id); out != `["/bin/tool","sleep","3600"]` {
		t.Errorf("Cmd = %s", out)
	}
	dk.Run(t, "stop", "-t", "20", id)
	if code := dk.Run(t, "inspect", "--format", "{{.State.ExitCode}}", id); code != "143" {
		t.Errorf("exit code after stop = %s, want 143", code)
	}
}

// TestPrivateDaemons checks what the e2e tests rely on of StartDaemon: two
// private daemons are distinct from each other and from the machine's;
// stopping, killing and starting one leaves the other alone and keeps its
// containers; Swarm on one leaves the machine's daemon out of Swarm; and
// nothing of either is left once the test that started them ends.
func TestPrivateDaemons(t *testing.T) {
	Require(t)
	t.Parallel()
	machine := Docker{}
	machineSwarm := machine.Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}")
	var started []*Daemon
	t.Run("daemons", func(t *testing.T) {
		a := StartDaemon(t, DaemonOptions{Name: "a"})
		b := StartDaemon(t, DaemonOptions{Name: "b"})
		started = append(started, a, b)
		ids := map[string]bool{machine.Run(t, "info", "--format", "{{.ID}}"): true}
		for _, d := range started {
			dk := d.Docker()
			dk.Run(t, "create", "--name", "c-"+d.Name, Image(t, dk))
			ids[dk.Run(t, "info", "--format", "{{.ID}}")] = true
		}
		if len(ids) != 3 {
			t.Errorf("daemon IDs not distinct: %v", ids)
		}

		pid := a.PID()
		a.Stop(t)
		if a.PID() != 0 {
			t.Fatalf("a still running after Stop")
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Fatalf("dockerd pid %d still exists after Stop", pid)
		}
		if _, err := a.Docker().Try("version"); err == nil {
			t.Fatalf("docker version works on a stopped daemon")
		}
		if out := b.Docker().Run(t, "ps", "-a", "--format", "{{.Names}}"); out != "c-b" {
			t.Errorf("daemon b while a is stopped: ps -a = %q", out)
		}
		a.Start(t)
		a.Kill(t)
		a.Start(t)
		if out := a.Docker().Run(t, "ps", "-a", "--format", "{{.Names}}"); out != "c-a" {
			t.Errorf("daemon a after its restarts: ps -a = %q", out)
		}
		a.SwarmInit(t)
	})
	for _, d := range started {
		assertGone(t, d)
	}
	if after := machine.Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}"); after != machineSwarm {
		t.Errorf("machine daemon swarm state changed: %q -> %q", machineSwarm, after)
	}
}

// assertGone checks that nothing of a private daemon is left.
func assertGone(t *testing.T, d *Daemon) {
	t.Helper()
	if _, err := os.Stat(d.root); !os.IsNotExist(err) {
		t.Errorf("root %s still exists (%v)", d.root, err)
	}
	if _, err := os.Stat(netnsPath(d.netns)); !os.IsNotExist(err) {
		t.Errorf("netns %s still exists (%v)", d.netns, err)
	}
	if pids := leftoverProcesses(d.root, ""); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	if m := mountsUnder(d.root); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
}

// TestGenerateTLS checks that the files GenerateTLS writes make a
// mutual-TLS handshake: the server's certificate for 127.0.0.1 and the
// client's, each trusted through the CA.
func TestGenerateTLS(t *testing.T) {
	server, client := GenerateTLS(t, t.TempDir(), "127.0.0.1")
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
		_, err = c.Write([]byte("ok")) // handshakes first
		errc <- err
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{Certificates: []tls.Certificate{cliPair}, RootCAs: pool})
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read: %q %v", buf, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
}
