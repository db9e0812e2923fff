// Command docker-tail loads the docker plugin's .so through its C ABI, the
// way Falco does (init, open, next_batch, extract one field per call), and
// prints every event with the docker.* fields it carries. With -generate it
// also creates and removes a few Docker objects, so that events flow on an
// idle machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

func main() {
	pluginPath := flag.String("plugin", "./libdocker.so", "path of the plugin's shared library")
	config := flag.String("config", "", "init_config (JSON)")
	params := flag.String("open", "", "open params: empty for live events, file://PATH to replay")
	generate := flag.Bool("generate", false, "create and remove Docker volumes, networks and containers while streaming")
	duration := flag.Duration("duration", 0, "stop after this long (0: until interrupted or end of replay)")
	flag.Parse()
	if err := run(*pluginPath, *config, *params, *generate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "docker-tail:", err)
		os.Exit(1)
	}
}

func run(pluginPath, config, params string, generate bool, duration time.Duration) error {
	plugin, err := host.Load(pluginPath)
	if err != nil {
		return err
	}
	info := plugin.Info()
	fmt.Printf("loaded %s %s (id %d, source %q)\n", info.Name, info.Version, info.ID, info.EventSource)
	fields, err := host.ParseFields(plugin.Fields())
	if err != nil {
		return err
	}
	state, err := plugin.Init(config)
	if err != nil {
		return err
	}
	defer state.Destroy()
	inst, err := state.Open(params)
	if err != nil {
		return err
	}
	defer inst.Close()

	// One extractor per field: libsinsp asks one field per call.
	type fieldExtractor struct {
		info host.FieldInfo
		x    *host.Extractor
	}
	var extractors []fieldExtractor
	for _, f := range fields {
		if f.ArgRequired {
			continue
		}
		extractors = append(extractors, fieldExtractor{f, state.NewExtractor([]host.Field{f.Field})})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	if generate {
		go generateEvents(ctx)
	}

	total := 0
	for ctx.Err() == nil {
		batch, rc, err := inst.NextBatch()
		if err != nil {
			return err
		}
		for i := range batch {
			evt := &batch[i]
			total++
			fmt.Printf("%s %s\n", time.Unix(0, int64(evt.Timestamp)).UTC().Format(time.RFC3339Nano), state.EventToString(evt))
			var parts []string
			for _, fx := range extractors {
				if _, err := fx.x.Extract(evt); err != nil {
					return fmt.Errorf("extract %s: %w", fx.info.Name, err)
				}
				if fx.x.Len(0) == 0 {
					continue
				}
				var v string
				switch fx.info.Type {
				case host.FTypeString:
					v = fx.x.String(0, 0)
				case host.FTypeAbsTime:
					continue // shown as the line's timestamp
				default:
					v = fmt.Sprint(fx.x.Uint64(0, 0))
				}
				parts = append(parts, fx.info.Name+"="+v)
			}
			fmt.Printf("    %s\n", strings.Join(parts, " "))
		}
		if rc == host.SSPluginEOF {
			break
		}
	}
	fmt.Printf("%d events\n", total)
	return nil
}
