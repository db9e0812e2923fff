package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"

	"github.com/falco-docker/plugin/stream"
)

const replayScheme = "file://"

// OpenParams suggests the live default and a replay example.
func (p *pluginState) OpenParams() ([]sdk.OpenParam, error) {
	return []sdk.OpenParam{
		{Value: "", Desc: "Stream live events from the configured Docker daemon (init_config host, else DOCKER_HOST, else the local socket)"},
		{Value: replayScheme + "/path/to/events.jsonl", Desc: "Replay a JSON-lines file of Docker events (docker events --format '{{json .}}'), then stop"},
	}, nil
}

// open starts an instance: empty params stream from the daemon, a path
// (file://PATH or a bare PATH) replays a file.
func (p *pluginState) open(params string) (sdk.InstanceState, error) {
	params = strings.TrimSpace(params)
	var inst *instance
	var err error
	switch {
	case params == "":
		inst, err = p.openLive()
	case strings.HasPrefix(params, replayScheme) && len(params) > len(replayScheme):
		inst, err = p.openReplay(strings.TrimPrefix(params, replayScheme))
	case strings.Contains(params, "://"):
		return nil, fmt.Errorf("open params %q: expected empty (live) or file://PATH (replay)", params)
	default:
		inst, err = p.openReplay(params)
	}
	if err != nil {
		return nil, err
	}
	inst.registry = &p.instances
	p.instances.add(inst)
	return inst, nil
}

func (p *pluginState) openReplay(path string) (*instance, error) {
	replay, err := stream.OpenReplay(path, p.warn)
	if err != nil {
		return nil, err
	}
	// The replay reader waits for room instead of dropping: a queue longer
	// than two batches would only hold memory.
	inst, err := newInstance(p.cfg, min(p.cfg.QueueSize, 2*p.cfg.BatchSize))
	if err != nil {
		return nil, err
	}
	inst.replay = replay
	inst.run(func(ctx context.Context) { replay.Run(ctx, inst.queue, p.cfg.MaxEventSize) })
	return inst, nil
}

func (p *pluginState) openLive() (*instance, error) {
	inst, err := newInstance(p.cfg, p.cfg.QueueSize)
	if err != nil {
		return nil, err
	}
	var tlsFiles *stream.TLSFiles
	if p.cfg.TLS.Enabled {
		t := p.cfg.TLS
		tlsFiles = &stream.TLSFiles{CA: t.CA, Cert: t.Cert, Key: t.Key, Verify: t.Verify}
	}
	daemons := make([]*stream.Daemon, 0, len(p.cfg.Hosts))
	for _, host := range p.cfg.Hosts {
		daemon, err := stream.NewDaemon(stream.DaemonConfig{Host: host, APIVersion: p.cfg.APIVersion, TLS: tlsFiles, ConnectTimeout: p.cfg.ConnectTimeout})
		if err != nil {
			for _, d := range daemons {
				d.Close()
			}
			inst.discard()
			return nil, err
		}
		daemons = append(daemons, daemon)
	}
	// Subscribe to every daemon, all at once, before returning: events that
	// happen once plugin_open has returned are all delivered. Each daemon's
	// reader makes its own first subscription and reports it, then follows;
	// the open waits for the reports at most one connect timeout, so that
	// no daemon, however stalled, holds Falco's startup longer. A single
	// daemon that is not there fails the open; among several, the ones down
	// or still connecting are retried in the background while the others
	// flow, and only all down fails.
	type subscribed struct {
		daemon int
		err    error
	}
	// Every manager of a Swarm reports every cluster event: with several
	// daemons, each is delivered once.
	if len(daemons) > 1 && p.cfg.SwarmDedupe {
		inst.swarm = stream.NewSwarmDedupe(len(daemons))
	}
	reports := make(chan subscribed, len(daemons))
	for i, daemon := range daemons {
		follower := stream.NewFollower(daemon, inst.queue, stream.FollowOptions{
			Filters:      p.cfg.Filters,
			MinBackoff:   p.cfg.ReconnectMin,
			MaxBackoff:   p.cfg.ReconnectMax,
			ResumeWindow: p.cfg.ResumeWindow,
			MaxEventSize: p.cfg.MaxEventSize,
			Swarm:        inst.swarm,
			SwarmMember:  i,
		}, p.warn)
		inst.followers = append(inst.followers, follower)
		inst.run(func(ctx context.Context) {
			defer daemon.Close()
			sub, err := follower.Subscribe(ctx)
			reports <- subscribed{daemon: i, err: err}
			follower.Run(ctx, sub)
		})
	}
	answered := make([]bool, len(daemons))
	var failures []error
	deadline := time.NewTimer(p.cfg.ConnectTimeout)
	defer deadline.Stop()
wait:
	for range daemons {
		select {
		case r := <-reports:
			answered[r.daemon] = true
			if r.err != nil {
				failures = append(failures, r.err)
			}
		case <-deadline.C:
			break wait
		}
	}
	for i, ok := range answered {
		if !ok {
			failures = append(failures, fmt.Errorf("docker daemon at %s: not connected within connectTimeout (%v)", daemons[i].Host(), p.cfg.ConnectTimeout))
		}
	}
	if len(failures) == len(daemons) {
		inst.discard()
		return nil, errors.Join(failures...)
	}
	for _, err := range failures {
		p.warn(fmt.Sprintf("%v; retrying in the background", err))
	}
	// The queue ends only when the instance closes (Close finishes it): a
	// live source never reports EOF or an error to Falco, it reconnects.
	return inst, nil
}
