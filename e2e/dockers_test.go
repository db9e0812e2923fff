package e2e

import (
	"testing"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// onEachDocker runs fn once per Docker Engine the plugin supports, as a
// subtest named after it, with the options of a private daemon of that
// version named name: the machine's Docker 20.10 (API 1.41) and the Docker
// 29 that .ci/dockerd29 builds (API 1.56). The two differ where users get
// hurt: how a stop ends the /events streams, the API version events are
// asked at, and what the daemon re-encodes below it.
func onEachDocker(t *testing.T, name string, fn func(t *testing.T, opts testdocker.DaemonOptions)) {
	t.Helper()
	t.Run("docker20", func(t *testing.T) { fn(t, testdocker.DaemonOptions{Name: name}) })
	t.Run("docker29", func(t *testing.T) { fn(t, testdocker.Docker29(t, name+"29")) })
}
