package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// drainTimeout bounds how long the stream is read once the generator has
// removed its objects, for the events of the removal: it stops earlier at
// the first batch that times out empty (the daemon has nothing more).
const drainTimeout = 2 * time.Second

// options are what a tail run does.
type options struct {
	Config string // init_config
	Params string // open params: empty for live events, file://PATH to replay
	// RulesPath is the Falco rules file whose fields are shown; empty shows
	// every field of the plugin that needs no argument.
	RulesPath string
	// RunID, when not empty, runs the event generator with that run ID.
	RunID string
	Out   io.Writer // events and the summary
	Log   io.Writer // the generator's progress and errors
	// OnEvent, if set, is called with every event shown.
	OnEvent func(eventRecord)
}

// tail streams the plugin's events, one line each, until ctx is done or a
// replay ends, running the generator alongside if asked; then it prints the
// summary and returns it. Once ctx is done, it keeps reading while the
// generator removes its objects, so that their removal is shown too.
func tail(ctx context.Context, plugin *host.Plugin, opts options) (*summary, error) {
	start := time.Now()
	info := plugin.Info()
	fmt.Fprintf(opts.Out, "loaded %s %s (id %d, source %q)\n", info.Name, info.Version, info.ID, info.EventSource)
	table, err := host.ParseFields(plugin.Fields())
	if err != nil {
		return nil, err
	}
	fields := allFields(table)
	if opts.RulesPath != "" {
		refs, err := rulesFieldRefs(opts.RulesPath)
		if err != nil {
			return nil, err
		}
		if fields, err = selectFields(table, append(refs, demoFields...)); err != nil {
			return nil, fmt.Errorf("%s: %w", opts.RulesPath, err)
		}
		fmt.Fprintf(opts.Out, "showing %d fields: the %d the conditions and outputs of %s read, and exit code, health status\n",
			len(fields), len(refs), opts.RulesPath)
	}

	state, err := plugin.Init(opts.Config)
	if err != nil {
		return nil, err
	}
	defer state.Destroy()
	inst, err := state.Open(opts.Params)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	rec := newRecorder(state, fields)
	defer rec.free()

	// The generator starts once the stream is open, so that none of its
	// events is missed.
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	var genDone chan error
	if opts.RunID != "" {
		g := &generator{runID: opts.RunID, log: opts.Log}
		fmt.Fprintf(opts.Out, "generating events: run %s, objects named falco-docker-demo-%s-* and labelled %s; Ctrl-C removes them\n",
			opts.RunID, opts.RunID, g.label())
		genDone = make(chan error, 1)
		go func() { genDone <- g.run(genCtx) }()
	}

	sum := &summary{}
	origin := ""
	var genErr error
	var drainUntil time.Time // set once the generator is done
	for {
		if genDone != nil {
			select {
			case genErr = <-genDone:
				genDone = nil
				drainUntil = time.Now().Add(drainTimeout)
			default:
			}
		} else if drainUntil.IsZero() && ctx.Err() != nil {
			break
		}
		batch, rc, err := inst.NextBatch()
		if err != nil {
			stopGen()
			return nil, errors.Join(err, waitGenerator(genDone))
		}
		for i := range batch {
			r, err := rec.record(&batch[i])
			if err != nil {
				stopGen()
				return nil, errors.Join(err, waitGenerator(genDone))
			}
			sum.add(r)
			if o := r.origin(); o != origin {
				origin = o
				fmt.Fprintf(opts.Out, "--- events from %s\n", o)
			}
			fmt.Fprintln(opts.Out, r)
			if opts.OnEvent != nil {
				opts.OnEvent(r)
			}
		}
		if rc == host.SSPluginEOF {
			stopGen()
			genErr = errors.Join(genErr, waitGenerator(genDone))
			break
		}
		if !drainUntil.IsZero() && (rc == host.SSPluginTimeout && len(batch) == 0 || time.Now().After(drainUntil)) {
			break
		}
	}
	sum.Elapsed = time.Since(start)
	sum.Metrics = state.Metrics() // while the instance is open: its counters
	sum.print(opts.Out)
	if genErr != nil {
		return sum, fmt.Errorf("generator: %w", genErr)
	}
	return sum, nil
}

// waitGenerator waits for the generator's clean-up, if it runs.
func waitGenerator(done chan error) error {
	if done == nil {
		return nil
	}
	return <-done
}
