package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// actionCount is the number of events of one action of a type.
type actionCount struct {
	Action string
	N      int
}

// summary counts the events by type and action, both in order of first
// appearance, and holds the plugin's metrics at the end of the run.
type summary struct {
	Total   int
	Elapsed time.Duration
	Types   []string
	Counts  map[string][]actionCount // by type
	Metrics []host.Metric
}

func (s *summary) add(rec eventRecord) {
	s.Total++
	typ, action := rec.countKey()
	if s.Counts == nil {
		s.Counts = map[string][]actionCount{}
	}
	counts, ok := s.Counts[typ]
	if !ok {
		s.Types = append(s.Types, typ)
	}
	i := slices.IndexFunc(counts, func(c actionCount) bool { return c.Action == action })
	if i < 0 {
		counts = append(counts, actionCount{Action: action})
		i = len(counts) - 1
	}
	counts[i].N++
	s.Counts[typ] = counts
}

// Count returns the number of events of typ and action (a countKey).
func (s *summary) Count(typ, action string) int {
	for _, c := range s.Counts[typ] {
		if c.Action == action {
			return c.N
		}
	}
	return 0
}

// print writes the summary on one screen: a line per type, wrapped at
// about 100 columns, then one line per metric, named as the plugin names
// them (plugin_get_metrics), not as this program would guess.
func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "\n=== %d events in %s\n", s.Total, s.Elapsed.Round(100*time.Millisecond))
	for _, typ := range s.Types {
		line := fmt.Sprintf("%-10s", typ)
		for i, c := range s.Counts[typ] {
			item := fmt.Sprintf("%s %d", c.Action, c.N)
			if i > 0 {
				item = ", " + item
			}
			if len(line)+len(item) > 100 {
				fmt.Fprintln(w, strings.TrimRight(line, " ")+",")
				line, item = strings.Repeat(" ", 10), item[2:]
			}
			line += item
		}
		fmt.Fprintln(w, line)
	}
	if len(s.Metrics) == 0 {
		fmt.Fprintln(w, "plugin metrics: none (the plugin exports no plugin_get_metrics)")
		return
	}
	fmt.Fprintln(w, "plugin metrics (plugin_get_metrics):")
	width := 0
	for _, m := range s.Metrics {
		width = max(width, len(m.Name))
	}
	for _, m := range s.Metrics {
		v := strconv.FormatUint(m.Value, 10)
		if m.Float != float64(m.Value) {
			v = strconv.FormatFloat(m.Float, 'g', -1, 64)
		}
		fmt.Fprintf(w, "  %-*s %s\n", width, m.Name, v)
	}
}
