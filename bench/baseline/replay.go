package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	dockerEvents "github.com/docker/docker/api/types/events"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
)

// openReplay is the seed's live Open with the daemon replaced by a
// JSON-lines file: every line goes through what the docker client and the
// seed do to a live event (decode it into an events.Message, encode it
// again with json.Marshal) and is pushed through the same unbuffered
// channel into a push instance, then the file's end is pushed as EOF.
func (p *Plugin) openReplay(path string) (source.Instance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	eventC := make(chan source.PushEvent)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(eventC)
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			// A new Message per event, as the docker client decodes each one.
			var msg dockerEvents.Message
			if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
				push(ctx, eventC, source.PushEvent{Err: fmt.Errorf("replay %s: %w", path, err)})
				return
			}
			bytes, err := json.Marshal(msg)
			if err != nil {
				push(ctx, eventC, source.PushEvent{Err: err})
				return
			}
			if !push(ctx, eventC, source.PushEvent{Data: bytes}) {
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = sdk.ErrEOF
		}
		push(ctx, eventC, source.PushEvent{Err: err})
	}()
	return p.Config.newPushInstance(eventC, cancel)
}
