// Package testdocker holds helpers for tests that need a real Docker Engine:
// running the docker CLI against a daemon (Docker), a tiny self-built test
// image (Image), private throw-away daemons in their own network namespace
// (StartDaemon) for tests that stop/restart a daemon or enable Swarm, and
// TLS material and listeners for the plugin's TCP endpoints (GenerateTLS,
// StartTLSProxy).
//
// Nothing here ever changes the machine's own daemon except by creating
// containers/images that the caller asks for (and the test image, see Image).
package testdocker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Docker runs the docker CLI against one daemon.
type Docker struct {
	// Host is the DOCKER_HOST value; empty means the machine's default
	// daemon (whatever the environment of the test process selects).
	Host string
}

// command returns an *exec.Cmd running the docker CLI with args against d.
func (d Docker) command(args ...string) *exec.Cmd {
	cmd := exec.Command("docker", args...)
	if d.Host == "" {
		return cmd
	}
	// A private host must not inherit the settings that select (or secure
	// the connection to) another daemon.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "DOCKER_HOST="+d.Host)
	return cmd
}

// Run runs `docker args...` and returns its trimmed stdout; it fails the
// test with stderr when the command fails.
func (d Docker) Run(t testing.TB, args ...string) string {
	t.Helper()
	return d.RunInput(t, "", args...)
}

// RunInput is Run with stdin fed from the given string.
func (d Docker) RunInput(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := d.tryInput(stdin, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// Try runs `docker args...` and returns its trimmed stdout. On failure the
// error includes stderr and wraps the *exec.ExitError (see ExitCode).
func (d Docker) Try(args ...string) (string, error) {
	return d.tryInput("", args...)
}

func (d Docker) tryInput(stdin string, args ...string) (string, error) {
	cmd := d.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		where := ""
		if d.Host != "" {
			where = " (DOCKER_HOST=" + d.Host + ")"
		}
		return out, fmt.Errorf("docker %s%s: %w\nstderr: %s", strings.Join(args, " "), where, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// ExitCode returns the exit code of the command that produced err: 0 for a
// nil error, the process exit code for an *exec.ExitError anywhere in the
// chain, and -1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// WaitFor polls cond until it holds, failing the test after deadline: a
// readiness wait on the daemon (a health check turning healthy, say), not
// synchronisation of the code under test.
func WaitFor(t testing.TB, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("condition not met within %v", deadline)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
