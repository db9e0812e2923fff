package stream

import (
	"path/filepath"
	"testing"
)

// The docker CLI's environment variables choose the endpoint, the API
// version and the TLS files when the configuration does not.
func TestDaemonFollowsTheDockerCLIEnvironment(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
	t.Setenv("DOCKER_API_VERSION", "1.41")
	t.Setenv("DOCKER_CERT_PATH", "/etc/docker/certs")
	t.Setenv("DOCKER_TLS_VERIFY", "")

	files := tlsFromEnv()
	want := TLSFiles{CA: filepath.Join("/etc/docker/certs", "ca.pem"), Cert: "/etc/docker/certs/cert.pem", Key: "/etc/docker/certs/key.pem", Verify: true}
	if files == nil || *files != want {
		t.Fatalf("TLS from the environment = %+v, want %+v (verification on unless explicitly off)", files, want)
	}
	t.Setenv("DOCKER_TLS_VERIFY", "0")
	if files := tlsFromEnv(); files == nil || files.Verify {
		t.Errorf("DOCKER_TLS_VERIFY=0: verify = %+v", files)
	}

	// The certificates do not exist: the client cannot be made, and the
	// error names the file, not its content.
	if _, err := NewDaemon(DaemonConfig{}); err == nil {
		t.Error("NewDaemon with missing DOCKER_CERT_PATH files succeeded")
	}
	t.Setenv("DOCKER_CERT_PATH", "")
	d, err := NewDaemon(DaemonConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Host() != "tcp://127.0.0.1:2376" || d.cli.ClientVersion() != "1.41" {
		t.Errorf("host %q, API version %q: want DOCKER_HOST and DOCKER_API_VERSION", d.Host(), d.cli.ClientVersion())
	}
	// The configuration wins over the environment.
	d2, err := NewDaemon(DaemonConfig{Host: "unix:///run/other.sock", APIVersion: "1.40"})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if d2.Host() != "unix:///run/other.sock" || d2.cli.ClientVersion() != "1.40" {
		t.Errorf("host %q, API version %q: want the configured ones", d2.Host(), d2.cli.ClientVersion())
	}
}
