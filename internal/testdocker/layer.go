package testdocker

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The project's tests come in two layers. The unit layer needs neither root
// nor a Docker daemon nor the network (loopback listeners inside the test
// process only). The e2e layer runs on real daemons: the machine's, and
// private ones (StartDaemon), Swarm among them. A test is in the e2e layer
// when its own body calls Require (or StartDaemon, its private-daemon twin):
// .ci/e2e-tests finds those tests by that call, for make test-e2e.
//
// layerEnv selects what Require does:
//
//	unit  skip every e2e test (make test-unit);
//	e2e   run every e2e test: a missing prerequisite fails (make test-e2e);
//	unset run the e2e tests when their prerequisites are there, else skip
//	      them saying which one is missing; with CI=true, fail instead.
const layerEnv = "DOCKER_PLUGIN_TESTS"

// e2eRunEnv holds the -run pattern make test-e2e uses (.ci/e2e-tests run).
// make test-unit passes it so that Require fails a test it would skip that
// make test-e2e would not run either: one that reaches Require through a
// helper rather than from its own body.
const e2eRunEnv = "DOCKER_PLUGIN_E2E_RUN"

// Require marks a test of the e2e layer: call it first in the test
// function's own body. It returns when the test can use the machine's
// Docker daemon (root, the docker CLI, a daemon answering). Otherwise it
// skips the test naming what is missing, or fails it where a skip would let
// the suite pass without checking anything: under CI=true, or under
// make test-e2e (see layerEnv).
func Require(t testing.TB) {
	t.Helper()
	requireLayer(t)
	if reason := missingDaemon(); reason != "" {
		unavailable(t, reason)
	}
}

// requirePrivate is Require for StartDaemon: private daemons need root,
// the docker CLI, dockerd, ip and nsenter, not the machine's daemon.
func requirePrivate(t testing.TB, dockerd string) {
	t.Helper()
	requireLayer(t)
	if reason := missingRoot(); reason != "" {
		unavailable(t, reason)
	}
	for _, bin := range []string{dockerd, "ip", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, bin+" on PATH")
		}
	}
}

// requireLayer skips an e2e test under make test-unit.
func requireLayer(t testing.TB) {
	t.Helper()
	if os.Getenv(layerEnv) == "unit" {
		checkSelected(t)
		t.Skip("testdocker: e2e test, not run by make test-unit: make test-e2e runs it (it needs root and a Docker daemon)")
	}
}

// Available reports whether the e2e prerequisites are there and the e2e
// layer is not excluded, for tests and benchmarks that only add a part on
// the machine's daemon when they can.
func Available() bool {
	return os.Getenv(layerEnv) != "unit" && missingDaemon() == ""
}

// unavailable skips t, or fails it under CI=true or make test-e2e.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	msg := "testdocker: e2e test needs " + reason + " (run it as root after .ci/deps, or with make test-e2e)"
	switch {
	case os.Getenv("CI") == "true":
		t.Fatal(msg + "; CI=true: the whole suite must run, so this is a failure")
	case os.Getenv(layerEnv) == "e2e":
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// missingRoot says what keeps any e2e test from running ("" when nothing
// does): root and the docker CLI.
func missingRoot() string {
	if os.Geteuid() != 0 {
		return "root"
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return "the docker CLI on PATH"
	}
	return ""
}

var (
	daemonOnce   sync.Once
	daemonReason string
)

// missingDaemon is missingRoot plus a machine's daemon answering, checked
// once per test process.
func missingDaemon() string {
	daemonOnce.Do(func() {
		daemonReason = missingRoot()
		if daemonReason != "" {
			return
		}
		if _, err := (Docker{}).Try("version", "--format", "{{.Server.Version}}"); err != nil {
			daemonReason = "a Docker daemon answering (" + firstLine(err.Error()) + ")"
		}
	})
	return daemonReason
}

// checkSelected fails t when the -run pattern of make test-e2e (e2eRunEnv,
// when set) does not select its top-level test: that test would run in
// neither layer.
func checkSelected(t testing.TB) {
	t.Helper()
	pattern := os.Getenv(e2eRunEnv)
	if pattern == "" {
		return
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("testdocker: %s=%q: %v", e2eRunEnv, pattern, err)
	}
	top, _, _ := strings.Cut(t.Name(), "/")
	if !re.MatchString(top) {
		t.Fatalf("testdocker: %s reaches Require, but make test-e2e does not select it: call testdocker.Require(t) (or StartDaemon) in its own body, where .ci/e2e-tests finds it", top)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
