// Command plugin is a minimal Falco plugin used by the host package tests.
// Built with -buildmode=c-shared it exposes event source "test" (ID 999):
// each capture emits `count` events with payload "event N" and timestamp N
// (none with open params "nots"), in batches of two, then EOF; open params
// "fail" make plugin_open fail. Fields: test.n (the host event number),
// test.s (the payload) and test.arg[key] (echoes the key).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/plugins/source"
	_ "github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/extract"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk/symbols/fields"
)

type testPlugin struct {
	plugins.BasePlugin
	Count int `json:"count"`
}

func (p *testPlugin) Info() *plugins.Info {
	return &plugins.Info{
		ID:          999,
		Name:        "test",
		Description: "host package test plugin",
		Contact:     "nobody@example.com",
		Version:     "0.1.0",
		EventSource: "test",
	}
}

func (p *testPlugin) InitSchema() *sdk.SchemaInfo {
	return &sdk.SchemaInfo{Schema: `{"type":"object","properties":{"count":{"type":"integer","default":3}},"additionalProperties":false}`}
}

func (p *testPlugin) Init(config string) error {
	p.Count = 3
	if config == "" {
		return nil
	}
	return json.Unmarshal([]byte(config), p)
}

func (p *testPlugin) OpenParams() ([]sdk.OpenParam, error) {
	return []sdk.OpenParam{{Value: "default", Desc: "the only capture"}}, nil
}

func (p *testPlugin) Open(params string) (source.Instance, error) {
	if params == "fail" {
		return nil, fmt.Errorf("cannot open %q", params)
	}
	n, count := 0, p.Count
	return source.NewPullInstance(
		func(ctx context.Context, w sdk.EventWriter) error {
			if n >= count {
				return sdk.ErrEOF
			}
			n++
			if _, err := fmt.Fprintf(w.Writer(), "event %d", n); err != nil {
				return err
			}
			if params != "nots" {
				w.SetTimestamp(uint64(n))
			}
			return nil
		},
		source.WithInstanceBatchSize(2),
		source.WithInstanceProgress(func() (float64, string) {
			return float64(n) / float64(count), fmt.Sprintf("%d/%d", n, count)
		}),
	)
}

func (p *testPlugin) String(evt sdk.EventReader) (string, error) {
	data, err := io.ReadAll(evt.Reader())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("#%d %s", evt.EventNum(), data), nil
}

func (p *testPlugin) Fields() []sdk.FieldEntry {
	return []sdk.FieldEntry{
		{Type: "uint64", Name: "test.n", Display: "Number", Desc: "The event number"},
		{Type: "string", Name: "test.s", Display: "Payload", Desc: "The event payload", Properties: []string{"conversation"}},
		{Type: "string", Name: "test.arg", Desc: "Echoes its key", Arg: sdk.FieldEntryArg{IsRequired: true, IsKey: true}},
	}
}

func (p *testPlugin) Extract(req sdk.ExtractRequest, evt sdk.EventReader) error {
	switch req.FieldID() {
	case 0:
		req.SetValue(evt.EventNum())
	case 1:
		data, err := io.ReadAll(evt.Reader())
		if err != nil {
			return err
		}
		req.SetValue(string(data))
	case 2:
		req.SetValue(req.ArgKey())
	default:
		return fmt.Errorf("unknown field id %d", req.FieldID())
	}
	return nil
}

func init() {
	plugins.SetFactory(func() plugins.Plugin {
		p := &testPlugin{}
		source.Register(p)
		// Not extractor.Register: in SDK v0.8.3 its async-extraction hooks
		// make plugin_destroy panic ("async worker stopped without being
		// started") on a state whose init failed, once an earlier state has
		// been destroyed, which the host tests do. Registering the fields
		// alone gives synchronous extraction, as the docker plugin uses.
		fields.SetFields(p.Fields())
		return p
	})
}

func main() {}
