package main

import (
	"strings"

	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// String renders an event for evt.plugininfo as one readable line:
// "container die 3f2a... (name=web, image=nginx:1.27, exitCode=137)".
func (p *pluginState) String(evt sdk.EventReader) (string, error) {
	ev, err := p.decoded(evt)
	if err != nil {
		return "", err
	}
	if ev.err != nil {
		return "undecodable docker event: " + ev.err.Error(), nil
	}
	var b strings.Builder
	b.WriteString(ev.str(ev.typ))
	b.WriteByte(' ')
	b.WriteString(ev.str(ev.action))
	if id := ev.str(ev.actorID); id != "" {
		b.WriteByte(' ')
		b.WriteString(id)
	}
	sep := " ("
	for _, key := range [...]string{"name", "image", "exitCode", "signal", "container"} {
		if v, ok := ev.attr(key); ok {
			b.WriteString(sep)
			b.WriteString(key)
			b.WriteByte('=')
			b.WriteString(v)
			sep = ", "
		}
	}
	if sep == ", " {
		b.WriteByte(')')
	}
	return b.String(), nil
}
