package testdocker

import (
	"os"
	"path/filepath"
	"testing"
)

// Docker29Version is the moby/moby/v2 module version .ci/dockerd29 builds:
// Docker 29.8, API v1.56. The two must name the same version.
const Docker29Version = "v2.0.0-beta.24"

// Docker29Binary returns the path of the Docker 29 dockerd that .ci/dockerd29
// builds and caches (under $FALCO_DOCKER_CACHE, by default
// /var/cache/falco-docker-plugin). When it is missing the test is skipped,
// or fails under CI (CI=true), where make test-e2e must have built it
// (.ci/dockerd29).
func Docker29Binary(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FALCO_DOCKER_CACHE")
	if dir == "" {
		dir = "/var/cache/falco-docker-plugin"
	}
	bin := filepath.Join(dir, "dockerd-moby-"+Docker29Version)
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		msg := "testdocker: no Docker 29 dockerd at " + bin + ": run .ci/dockerd29 (make deps) to build it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Docker29 returns the options that start a private Docker 29 daemon (see
// StartDaemon) named name. It runs with the machine's containerd 1.6 and
// runc 1.1, which know nothing of time namespaces, and with a config file
// of its own that is empty: Docker 29 refuses the trust key setting.
func Docker29(t testing.TB, name string) DaemonOptions {
	t.Helper()
	return DaemonOptions{
		Name:      name,
		Binary:    Docker29Binary(t),
		Config:    map[string]any{},
		ExtraArgs: []string{"--feature", "time-namespaces=false"},
	}
}
