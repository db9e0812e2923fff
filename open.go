package main

import (
	"context"
	"fmt"
	"strings"

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
	switch {
	case params == "":
		return p.openLive()
	case strings.HasPrefix(params, replayScheme):
		return p.openReplay(strings.TrimPrefix(params, replayScheme))
	case strings.Contains(params, "://"):
		return nil, fmt.Errorf("open params %q: expected empty (live) or file://PATH (replay)", params)
	default:
		return p.openReplay(params)
	}
}

func (p *pluginState) openReplay(path string) (sdk.InstanceState, error) {
	replay, err := stream.OpenReplay(path, p.warn)
	if err != nil {
		return nil, err
	}
	inst, err := newInstance(p.cfg)
	if err != nil {
		return nil, err
	}
	inst.replay = replay
	inst.run(func(ctx context.Context) { replay.Run(ctx, inst.queue, p.cfg.MaxEventSize) })
	return inst, nil
}

func (p *pluginState) openLive() (sdk.InstanceState, error) {
	daemon, err := stream.NewDaemon(stream.DaemonConfig{Host: p.cfg.Host, APIVersion: p.cfg.APIVersion})
	if err != nil {
		return nil, err
	}
	inst, err := newInstance(p.cfg)
	if err != nil {
		daemon.Close()
		return nil, err
	}
	// Subscribe before returning: events that happen once plugin_open has
	// returned are all delivered, and a daemon that is not there fails open.
	ctx, cancel := context.WithTimeout(inst.ctx, dialTimeout)
	defer cancel()
	err = daemon.Ping(ctx)
	var sub *stream.Subscription
	if err == nil {
		sub, err = daemon.Subscribe(inst.ctx, stream.StreamOptions{})
	}
	if err != nil {
		daemon.Close()
		inst.discard()
		return nil, err
	}
	inst.run(func(ctx context.Context) {
		defer daemon.Close()
		err := sub.Pump(inst.queue, p.cfg.MaxEventSize, inst.countOversized)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		inst.queue.Finish(err)
	})
	return inst, nil
}
