package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

const repoRoot = "../.."

// plugin is the one libdocker.so of this process (a Go runtime cannot be
// loaded twice into a process): every in-process test shares it.
var plugin *host.Plugin

// rulesPath is the shipped rules file, whose fields the demo shows.
var rulesPath = filepath.Join(repoRoot, "rules", "docker_rules.yaml")

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// The interrupt test runs the demo binary, which loads the .so by
	// path: build one if make did not (plugintest would build it too, but
	// where a subprocess cannot find it).
	if os.Getenv("DOCKER_PLUGIN_SO") == "" {
		dir, err := os.MkdirTemp("", "docker-tail-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		so := filepath.Join(dir, "libdocker.so")
		build := exec.Command("go", "build", "-buildmode=c-shared", "-tags", plugintest.BuildTags, "-o", so, ".")
		build.Dir = repoRoot
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build the plugin:", err)
			return 1
		}
		os.Setenv("DOCKER_PLUGIN_SO", so)
	}
	return plugintest.Main(m, repoRoot, &plugin)
}
