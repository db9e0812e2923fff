// Command docker-tail loads the docker plugin's .so through its C ABI, the
// way Falco does (init, open, next_batch, extract one field per call), and
// prints every event on one line with the docker.* fields the shipped rules
// read, then a summary: events per type and action, and the plugin's
// metrics (plugin_get_metrics).
//
// With -generate it also runs, execs into, kills and stops containers of a
// tiny imported image, with a volume, a network and health checks, so that
// an idle machine shows the events the rules are about. Everything it
// creates is named and labelled with a per-run ID and removed when it
// stops: after -duration, or on Ctrl-C (SIGINT) or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

func main() {
	pluginPath := flag.String("plugin", "./libdocker.so", "path of the plugin's shared library")
	config := flag.String("config", "", "init_config (JSON)")
	params := flag.String("open", "", "open params: empty for live events, file://PATH to replay")
	rules := flag.String("rules", "rules/docker_rules.yaml", "Falco rules file whose docker.* fields are shown (empty: every field)")
	generate := flag.Bool("generate", false, "run, exec into, kill and stop containers (with a volume, a network, health checks) while streaming")
	duration := flag.Duration("duration", 0, "stop after this long (0: until interrupted or end of replay)")
	cleanup := flag.Bool("cleanup", false, "only remove what any run of -generate left (objects labelled "+demoLabel+"), then exit")
	flag.Parse()
	if err := run(*pluginPath, *rules, *generate, *cleanup, *duration, options{Config: *config, Params: *params}); err != nil {
		fmt.Fprintln(os.Stderr, "docker-tail:", err)
		os.Exit(1)
	}
}

func run(pluginPath, rules string, generate, cleanup bool, duration time.Duration, opts options) error {
	if cleanup {
		return removeLabelled(demoLabel)
	}
	// Caught from here on: an interrupted run stops streaming, removes what
	// the generator created and prints its summary.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	plugin, err := host.Load(pluginPath)
	if err != nil {
		return err
	}
	opts.RulesPath = rules
	opts.Out, opts.Log = os.Stdout, os.Stderr
	if generate {
		if opts.RunID, err = newRunID(); err != nil {
			return err
		}
	}
	_, err = tail(ctx, plugin, opts)
	return err
}
