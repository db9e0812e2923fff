package testdocker

import (
	"os"
	"strings"
	"testing"
)

// .ci/dockerd29 builds the Docker 29 daemon that Docker29Binary looks for:
// both must name the same version, or the tests skip (or fail under CI)
// with a binary built for nothing.
func TestDocker29VersionMatchesTheBuildScript(t *testing.T) {
	script, err := os.ReadFile("../../.ci/dockerd29")
	if err != nil {
		t.Fatal(err)
	}
	want := "MOBY_VERSION=${MOBY_VERSION:-" + Docker29Version + "}"
	if !strings.Contains(string(script), want) {
		t.Errorf(".ci/dockerd29 does not build %s (no %q)", Docker29Version, want)
	}
}
