package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// Health checks run by the tool of the demo image (internal/testdocker/
// testdata/tool): the daemon runs --health-cmd as "/bin/sh -c CMD", and the
// tool, linked as /bin/sh, exits 0 for "true" and 1 for "false".
const (
	healthInterval = "1s"
	healthyCmd     = "true"
	unhealthyCmd   = "false"
	// healthTimeout bounds the wait for a health status: a few intervals.
	healthTimeout = 30 * time.Second
)

// generator drives the docker CLI through what the shipped rules are about,
// so that an idle machine shows those events: in each round, a volume and a
// network, a container (on them) whose health check passes and one whose
// health check fails, a shell exec, a SIGKILL, a SIGTERM stop, a container
// that exits with code 3, then the removal of all of it. Every object is
// named with the run ID and labelled demoLabel=<run ID>: concurrent runs do
// not collide, and removeLabelled finds what an interrupted round left.
type generator struct {
	runID string
	log   io.Writer // progress and errors, one line each
}

func (g *generator) label() string { return demoLabel + "=" + g.runID }
func (g *generator) image() string { return "falco-docker-demo/tool:" + g.runID }

// run imports the demo image, plays rounds until ctx is done, then removes
// everything labelled with the run ID, even after a failure.
func (g *generator) run(ctx context.Context) error {
	err := g.play(ctx)
	if err != nil {
		fmt.Fprintf(g.log, "generate: %v\n", err)
	}
	if cerr := g.cleanup(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

func (g *generator) play(ctx context.Context) error {
	// The test image's root filesystem: a static multi-call binary (no
	// image can be pulled, so it is built here with the go command, cached
	// by Go's build cache), imported under this run's own name and label.
	tar, err := testdocker.ImageTar()
	if err != nil {
		return fmt.Errorf("build the demo image: %w", err)
	}
	if ctx.Err() != nil {
		return nil
	}
	if _, err := docker(bytes.NewReader(tar), "image", "import",
		"--change", "LABEL "+g.label(),
		"--change", `CMD ["/bin/tool", "sleep", "3600"]`,
		"--message", "falco-docker plugin demo (cmd/docker-tail)",
		"-", g.image()); err != nil {
		return err
	}
	for i := 1; ctx.Err() == nil; i++ {
		if err := g.round(ctx, i); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
	}
	return nil
}

// round plays one round; once ctx is done it stops between two steps and
// returns nil, leaving the clean-up to removeLabelled.
func (g *generator) round(ctx context.Context, i int) error {
	name := fmt.Sprintf("falco-docker-demo-%s-%d", g.runID, i)
	healthy, unhealthy, exiting := name+"-healthy", name+"-unhealthy", name+"-exit"
	label := g.label()
	sleeper := []string{g.image(), "/bin/tool", "sleep", "3600"}
	s := &script{ctx: ctx}

	s.docker("volume", "create", "--label", label, name)
	s.docker("network", "create", "--label", label, name)
	s.docker(append([]string{"run", "--detach", "--name", healthy, "--label", label,
		"--network", name, "--volume", name + ":/data",
		"--health-cmd", healthyCmd, "--health-interval", healthInterval, "--health-retries", "1"}, sleeper...)...)
	s.docker(append([]string{"run", "--detach", "--name", unhealthy, "--label", label,
		"--health-cmd", unhealthyCmd, "--health-interval", healthInterval, "--health-retries", "1"}, sleeper...)...)
	s.docker("exec", healthy, "sh", "-c", "id")
	s.waitHealth(healthy, "healthy")
	s.waitHealth(unhealthy, "unhealthy")
	s.docker("kill", "--signal", "KILL", healthy) // die with exit code 137
	s.docker("stop", "--time", "1", unhealthy)    // SIGTERM: the tool exits 143 at once
	s.docker("run", "--detach", "--name", exiting, "--label", label, g.image(), "/bin/tool", "exit", "3")
	s.docker("wait", exiting)
	s.docker("rm", healthy, unhealthy, exiting)
	s.docker("network", "rm", name)
	s.docker("volume", "rm", name)
	return s.err
}

// cleanup removes everything labelled with the run ID and checks that
// nothing is left.
func (g *generator) cleanup() error {
	err := removeLabelled(g.label())
	left, lerr := leftovers(g.label())
	switch {
	case lerr != nil:
		err = errors.Join(err, lerr)
	case len(left) > 0:
		err = errors.Join(err, fmt.Errorf("still labelled %s: %v", g.label(), left))
	default:
		fmt.Fprintf(g.log, "generate: removed every container, network, volume and image labelled %s\n", g.label())
	}
	return err
}

// script runs docker CLI steps until one fails or its context is done;
// the steps after that do nothing.
type script struct {
	ctx context.Context
	err error
}

func (s *script) docker(args ...string) {
	if s.err != nil || s.ctx.Err() != nil {
		return
	}
	_, s.err = docker(nil, args...)
}

// waitHealth polls the health status of container until it is want (the
// daemon sends health_status when it changes).
func (s *script) waitHealth(container, want string) {
	deadline := time.Now().Add(healthTimeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for s.err == nil && s.ctx.Err() == nil {
		status, err := docker(nil, "inspect", "--format", "{{.State.Health.Status}}", container)
		switch {
		case err != nil:
			s.err = err
		case status == want:
			return
		case time.Now().After(deadline):
			s.err = fmt.Errorf("container %s: health %q after %s, want %q", container, status, healthTimeout, want)
		}
		select {
		case <-s.ctx.Done():
		case <-tick.C:
		}
	}
}
