package rules

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/host"
)

// exampleAlertRE finds an example alert in a README: a marker naming the
// rule and the fixture line, then a text block holding the alert.
var exampleAlertRE = regexp.MustCompile("<!-- example alert: (.+?), rules/testdata/rules_events.jsonl:([0-9]+) -->\n```text\n([^`]*)```")

// TestExampleAlertsAsFalcoPrintsThem renders each example alert of the
// READMEs from the plugin's own extraction of the fixture line it names, the
// way Falco prints a rule's output in its text format with the default
// falco.yaml (time_format_iso_8601: false) and TZ=UTC:
// "<HH:MM:SS.nanoseconds>: <Priority> <output>", every %field replaced by
// its value, <NA> where the plugin extracts nothing (falcosecurity/falco
// userspace/falco/falco_outputs.cpp handle_event; libsinsp
// sinsp_utils::ts_to_string and the event formatter). Whether the rule
// fires on that line is TestRulesFixture's business: the marker names a
// line annotated "fires" for that rule.
func TestExampleAlertsAsFalcoPrintsThem(t *testing.T) {
	rf := mustLoadRules(t)
	table := fieldTable(t)
	replayed := replayFixture(t)
	found := 0
	for _, path := range []string{"../README.md", "README.md"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range exampleAlertRE.FindAllStringSubmatch(string(raw), -1) {
			found++
			name, want := m[1], strings.TrimSpace(m[3])
			line, _ := strconv.Atoi(m[2])
			var rule *ruleDef
			for _, r := range rf.rules {
				if r.name == name {
					rule = r
				}
			}
			if rule == nil {
				t.Errorf("%s: example alert of an unknown rule %q", path, name)
				continue
			}
			if line < 1 || line > len(replayed) {
				t.Errorf("%s: example alert of %q: fixture line %d out of range", path, name, line)
				continue
			}
			fires, _, _, err := rf.annotation(rule)
			if err != nil {
				t.Fatal(err)
			}
			if !firesOnReplay(fires, line) {
				t.Errorf("%s: example alert of %q: fixture line %d is not one the rule fires on", path, name, line)
			}
			ev := replayed[line-1]
			got, err := renderAlert(rule, ev.state, ev.evt, table)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: example alert of %q on fixture line %d:\n got: %s\nwant: %s", path, name, line, got, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no example alert in the READMEs")
	}
}

func firesOnReplay(fires []lineRef, line int) bool {
	for _, ref := range fires {
		if !ref.live && ref.line == line {
			return true
		}
	}
	return false
}

// renderAlert formats a rule's alert for an event as Falco's text output.
func renderAlert(r *ruleDef, s *host.State, evt *host.Event, table map[string]host.FieldInfo) (string, error) {
	var b strings.Builder
	b.WriteString(time.Unix(0, int64(evt.Timestamp)).UTC().Format("15:04:05.000000000"))
	b.WriteString(": ")
	b.WriteString(priorityText(r.priority))
	b.WriteString(" ")
	out := r.output
	for {
		i := strings.IndexByte(out, '%')
		if i < 0 {
			b.WriteString(out)
			return b.String(), nil
		}
		b.WriteString(out[:i])
		m := outputFieldRE.FindStringSubmatchIndex(out[i:])
		if m == nil || m[0] != 0 {
			return "", fmt.Errorf("rule %q: %% at %q does not start a field", r.name, out[i:])
		}
		ref := fieldRef{name: out[i+m[2] : i+m[3]]}
		if m[4] >= 0 {
			ref.hasArg, ref.arg = true, out[i+m[6]:i+m[7]]
		}
		v, err := s.ExtractOne(evt, request(table, ref))
		if err != nil {
			return "", fmt.Errorf("rule %q: extract %s: %w", r.name, ref, err)
		}
		switch {
		case !v.Present:
			b.WriteString("<NA>")
		case len(v.Strings) > 0:
			b.WriteString(v.Strings[0])
		default:
			b.WriteString(strconv.FormatUint(v.Uint64s[0], 10))
		}
		out = out[i+m[1]:]
	}
}

// priorityText is how Falco's text output spells a priority
// (falco_common::format_priority): the name with only its first letter
// upper case.
func priorityText(p string) string {
	if p == "" {
		return p
	}
	return p[:1] + strings.ToLower(p[1:])
}
