package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
)

// demoLabel is the label key of every object the generator creates; its
// value is the run ID, so that one run's objects can be found (and removed)
// without touching another's.
const demoLabel = "falco-docker-demo"

// newRunID returns a random run ID, short enough for names.
func newRunID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// docker runs the docker CLI with args and returns its standard output,
// trimmed. The CLI runs in its own process group: a Ctrl-C in the terminal
// reaches this program only, which then finishes the step in progress and
// cleans up, rather than leaving a step half done.
func docker(stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// removeLabelled removes every container, network, volume and image that
// carries label (KEY or KEY=VALUE, as docker's label filter takes it),
// in that order: a network, volume or image in use cannot be removed.
// It returns every failure, having tried everything.
func removeLabelled(label string) error {
	var errs []error
	kinds := []struct {
		list, remove []string
	}{
		{[]string{"ps", "--all", "--quiet"}, []string{"rm", "--force", "--volumes"}},
		{[]string{"network", "ls", "--quiet"}, []string{"network", "rm"}},
		{[]string{"volume", "ls", "--quiet"}, []string{"volume", "rm", "--force"}},
		{[]string{"image", "ls", "--quiet", "--no-trunc"}, []string{"image", "rm", "--force"}},
	}
	for _, k := range kinds {
		out, err := docker(nil, append(k.list, "--filter", "label="+label)...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ids := strings.Fields(out); len(ids) > 0 {
			if _, err := docker(nil, append(k.remove, dedupe(ids)...)...); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// leftovers lists what still carries label, as "kind id" lines.
func leftovers(label string) ([]string, error) {
	var out []string
	for _, kind := range [][]string{
		{"container", "ps", "--all", "--quiet"},
		{"network", "network", "ls", "--quiet"},
		{"volume", "volume", "ls", "--quiet"},
		{"image", "image", "ls", "--quiet"},
	} {
		ids, err := docker(nil, append(kind[1:], "--filter", "label="+label)...)
		if err != nil {
			return nil, err
		}
		for _, id := range strings.Fields(ids) {
			out = append(out, kind[0]+" "+id)
		}
	}
	return out, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
