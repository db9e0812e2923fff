package stream

import (
	"strings"
	"testing"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// The endpoint and API version follow the docker CLI: the configuration,
// else DOCKER_HOST and DOCKER_API_VERSION, else tcp://localhost:2376 when
// TLS is on, else the local socket.
func TestDaemonFollowsTheDockerCLIEnvironment(t *testing.T) {
	clearDockerEnv(t)
	d, err := NewDaemon(DaemonConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d.Host() != "unix:///var/run/docker.sock" {
		t.Errorf("no configuration: host %q, want the local socket", d.Host())
	}

	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
	t.Setenv("DOCKER_API_VERSION", "1.41")
	d, err = NewDaemon(DaemonConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d.Host() != "tcp://127.0.0.1:2376" || d.cli.ClientVersion() != "1.41" {
		t.Errorf("host %q, API version %q: want DOCKER_HOST and DOCKER_API_VERSION", d.Host(), d.cli.ClientVersion())
	}
	// The configuration wins over the environment.
	d, err = NewDaemon(DaemonConfig{Host: "unix:///run/other.sock", APIVersion: "1.40"})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d.Host() != "unix:///run/other.sock" || d.cli.ClientVersion() != "1.40" {
		t.Errorf("host %q, API version %q: want the configured ones", d.Host(), d.cli.ClientVersion())
	}

	// TLS on and no host: the CLI's TLS default.
	t.Setenv("DOCKER_HOST", "")
	certs := t.TempDir()
	testdocker.GenerateTLS(t, certs, "127.0.0.1")
	t.Setenv("DOCKER_CERT_PATH", certs)
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	d, err = NewDaemon(DaemonConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d.Host() != "tcp://localhost:2376" {
		t.Errorf("TLS on, no host: %q, want tcp://localhost:2376", d.Host())
	}

	if _, err := NewDaemon(DaemonConfig{Host: "ssh://user@host"}); err == nil || !strings.Contains(err.Error(), "ssh://") {
		t.Errorf("an ssh:// endpoint = %v, want an error naming the scheme", err)
	}
}
