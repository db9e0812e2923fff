package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// generateEvents drives the docker CLI so that an idle machine shows events:
// a volume, a network and a container created from an empty imported image
// (no registry is needed), then removed, once a second.
func generateEvents(ctx context.Context) {
	const image = "docker-tail-demo:empty"
	// An image with no files: enough to create (not start) containers.
	empty := exec.CommandContext(ctx, "docker", "import", "-", image)
	empty.Stdin = strings.NewReader(string(make([]byte, 1024))) // an empty tar archive
	if out, err := empty.CombinedOutput(); err != nil {
		fmt.Printf("generate: docker import: %v: %s\n", err, out)
	}
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("docker-tail-demo-%d", i)
		for _, args := range [][]string{
			{"volume", "create", name},
			{"network", "create", name},
			{"create", "--name", name, "--network", name, "-v", name + ":/data", "--label", "demo=docker-tail", image, "/none"},
			{"rename", name, name + "-renamed"},
			{"rm", name + "-renamed"},
			{"network", "rm", name},
			{"volume", "rm", name},
		} {
			// A fresh context: the clean-up must run even once ctx is done.
			cmd := exec.Command("docker", args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Printf("generate: docker %s: %v: %s\n", strings.Join(args, " "), err, out)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	exec.Command("docker", "rmi", image).Run()
}
