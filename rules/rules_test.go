package rules

// Checks of docker_rules.yaml that need no Falco: YAML and schema, the
// conditions and outputs against the field table of the built plugin (read
// through its C ABI), lists and macros, and, per rule, the recorded fixture
// events documented to fire it (the fields its condition needs must be
// extracted by the plugin from them). Condition truth is NOT evaluated:
// there is no Falco here, and this is a checker, not a rule engine. Whether
// a "fires" line really fires and a "quiet" line stays quiet is what a
// replay in Falco shows (see README.md).

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/falco-docker/plugin/internal/host"
	"github.com/falco-docker/plugin/internal/plugintest"
)

// priorities are Falco's rule priorities.
var priorities = []string{"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL", "DEBUG"}

// Keys each kind of item may have (the first one names the item).
var itemKeys = map[string][]string{
	"rule":                     {"rule", "desc", "condition", "output", "priority", "source", "tags", "enabled"},
	"macro":                    {"macro", "condition"},
	"list":                     {"list", "items"},
	"required_engine_version":  {"required_engine_version"},
	"required_plugin_versions": {"required_plugin_versions"},
}

type listDef struct {
	name  string
	items []string // as written
	index int      // position among the lists
	line  int
}

type macroDef struct {
	name  string
	cond  string
	index int // position among the macros
	line  int
	ast   node
}

type ruleDef struct {
	name, desc, cond, output, priority, source string
	enabled                                    bool
	tags                                       []string
	line                                       int
	ast                                        node
}

type pluginReq struct{ name, version string }

type rulesFile struct {
	lines          []string // the file's text, by line (index 0 = line 1)
	engineVersion  string
	pluginVersions []pluginReq
	lists          map[string]*listDef
	macros         map[string]*macroDef
	rules          []*ruleDef
	listOrder      []*listDef
	macroOrder     []*macroDef
}

// loadRules reads and schema-checks docker_rules.yaml. Schema problems are
// returned as errors; a file that is not YAML fails the test.
func loadRules(t testing.TB) (*rulesFile, []error) {
	t.Helper()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", rulesPath, err)
	}
	rf := &rulesFile{
		lines:  strings.Split(string(data), "\n"),
		lists:  map[string]*listDef{},
		macros: map[string]*macroDef{},
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", rulesPath, line, fmt.Sprintf(format, args...)))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
		t.Fatalf("%s: the top level must be a YAML sequence of items", rulesPath)
	}
	ruleNames := map[string]bool{}
	for _, it := range doc.Content[0].Content {
		if it.Kind != yaml.MappingNode {
			bad(it.Line, "item is not a mapping")
			continue
		}
		fields := map[string]*yaml.Node{}
		var keys []string
		for k := 0; k+1 < len(it.Content); k += 2 {
			key := it.Content[k].Value
			if _, dup := fields[key]; dup {
				bad(it.Content[k].Line, "duplicate key %q", key)
			}
			fields[key] = it.Content[k+1]
			keys = append(keys, key)
		}
		var kinds []string
		for kind := range itemKeys {
			if fields[kind] != nil {
				kinds = append(kinds, kind)
			}
		}
		if len(kinds) != 1 {
			sort.Strings(kinds)
			bad(it.Line, "item must be exactly one of rule, macro, list, required_engine_version, required_plugin_versions; has %v", kinds)
			continue
		}
		kind := kinds[0]
		for _, k := range keys {
			if !slices.Contains(itemKeys[kind], k) {
				bad(it.Line, "%s item has unexpected key %q (allowed: %v)", kind, k, itemKeys[kind])
			}
		}
		str := func(key string) string {
			n := fields[key]
			if n == nil {
				return ""
			}
			if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
				bad(n.Line, "%s: %q must be a string", kind, key)
				return ""
			}
			return n.Value
		}
		switch kind {
		case "required_engine_version":
			n := fields[kind]
			if n.Kind != yaml.ScalarNode || !regexp.MustCompile(`^([0-9]+|[0-9]+\.[0-9]+\.[0-9]+)$`).MatchString(n.Value) {
				bad(n.Line, "required_engine_version must be a number or a semantic version, got %q", n.Value)
			}
			if rf.engineVersion != "" {
				bad(n.Line, "required_engine_version given twice")
			}
			rf.engineVersion = n.Value
		case "required_plugin_versions":
			n := fields[kind]
			if n.Kind != yaml.SequenceNode {
				bad(n.Line, "required_plugin_versions must be a list")
				continue
			}
			for _, pv := range n.Content {
				var req struct {
					Name         string `yaml:"name"`
					Version      string `yaml:"version"`
					Alternatives []struct {
						Name    string `yaml:"name"`
						Version string `yaml:"version"`
					} `yaml:"alternatives"`
				}
				if err := pv.Decode(&req); err != nil || req.Name == "" || req.Version == "" {
					bad(pv.Line, "required_plugin_versions entry needs name and version (%v)", err)
					continue
				}
				rf.pluginVersions = append(rf.pluginVersions, pluginReq{req.Name, req.Version})
			}
		case "list":
			name := str("list")
			l := &listDef{name: name, index: len(rf.listOrder), line: it.Line}
			items := fields["items"]
			if items == nil || items.Kind != yaml.SequenceNode {
				bad(it.Line, "list %q needs items: a YAML list", name)
			} else {
				for _, n := range items.Content {
					if n.Kind != yaml.ScalarNode {
						bad(n.Line, "list %q: item is not a scalar", name)
						continue
					}
					l.items = append(l.items, n.Value)
				}
			}
			if rf.lists[name] != nil || rf.macros[name] != nil {
				bad(it.Line, "name %q defined twice", name)
			}
			rf.lists[name] = l
			rf.listOrder = append(rf.listOrder, l)
		case "macro":
			name := str("macro")
			m := &macroDef{name: name, cond: str("condition"), index: len(rf.macroOrder), line: it.Line}
			if m.cond == "" {
				bad(it.Line, "macro %q needs a condition", name)
			}
			if rf.lists[name] != nil || rf.macros[name] != nil {
				bad(it.Line, "name %q defined twice", name)
			}
			rf.macros[name] = m
			rf.macroOrder = append(rf.macroOrder, m)
		case "rule":
			r := &ruleDef{
				name: str("rule"), desc: str("desc"), cond: str("condition"), output: str("output"),
				priority: str("priority"), source: str("source"), enabled: true, line: it.Line,
			}
			for _, k := range []string{"rule", "desc", "condition", "output", "priority", "source"} {
				if strings.TrimSpace(str(k)) == "" {
					bad(it.Line, "rule %q: %q is required", r.name, k)
				}
			}
			if ruleNames[r.name] {
				bad(it.Line, "rule %q defined twice", r.name)
			}
			ruleNames[r.name] = true
			if r.source != "docker" {
				bad(it.Line, "rule %q: source must be docker, got %q", r.name, r.source)
			}
			if !slices.Contains(priorities, r.priority) {
				bad(it.Line, "rule %q: priority %q is not one of %v", r.name, r.priority, priorities)
			}
			if n := fields["enabled"]; n != nil {
				if n.Tag != "!!bool" {
					bad(n.Line, "rule %q: enabled must be true or false", r.name)
				}
				r.enabled = n.Value == "true"
			}
			if n := fields["tags"]; n != nil {
				if err := n.Decode(&r.tags); err != nil {
					bad(n.Line, "rule %q: tags must be a list of strings: %v", r.name, err)
				}
			}
			rf.rules = append(rf.rules, r)
		}
	}
	return rf, errs
}

// mustLoadRules loads the rules and parses every condition; it fails the
// test on any schema or syntax error (TestRulesSchema and
// TestRulesConditions report them one by one).
func mustLoadRules(t testing.TB) *rulesFile {
	t.Helper()
	rf, errs := loadRules(t)
	if len(errs) > 0 {
		t.Fatalf("%s has schema errors (see TestRulesSchema): %v", rulesPath, errs[0])
	}
	if errs := rf.parse(); len(errs) > 0 {
		t.Fatalf("%s has condition errors (see TestRulesConditions): %v", rulesPath, errs[0])
	}
	if errs := rf.lint(fieldTable(t)); len(errs) > 0 {
		t.Fatalf("%s has condition errors (see TestRulesConditions): %v", rulesPath, errs[0])
	}
	return rf
}

// parse parses every macro and rule condition.
func (rf *rulesFile) parse() []error {
	names := map[string]bool{}
	for name := range rf.lists {
		names[name] = true
	}
	var errs []error
	for _, m := range rf.macroOrder {
		n, _, err := parseCondition(m.cond, names)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: macro %q: %v", rulesPath, m.line, m.name, err))
		}
		m.ast = n
	}
	for _, r := range rf.rules {
		n, _, err := parseCondition(r.cond, names)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: rule %q: %v", rulesPath, r.line, r.name, err))
		}
		r.ast = n
	}
	return errs
}

func (rf *rulesFile) macroASTs() map[string]node {
	out := map[string]node{}
	for name, m := range rf.macros {
		out[name] = m.ast
	}
	return out
}

// fieldsUsed returns the fields n uses, through its macros, once each.
func (rf *rulesFile) fieldsUsed(n node) []fieldRef {
	seen := map[fieldRef]bool{}
	var out []fieldRef
	var visit func(node)
	visit = func(n node) {
		walk(n, func(n node) {
			switch n := n.(type) {
			case *check:
				ref := fieldRef{name: n.field.text, arg: n.field.arg, hasArg: n.field.hasArg}
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			case *macroRef:
				if m := rf.macros[n.name]; m != nil && m.ast != nil {
					visit(m.ast)
				}
			}
		})
	}
	visit(n)
	return out
}

// expandList returns the values a list stands for, its nested lists (which
// must be defined before it) expanded.
func (rf *rulesFile) expandList(l *listDef) ([]string, error) {
	var out []string
	for _, item := range l.items {
		if ref := rf.lists[item]; ref != nil {
			if ref.index >= l.index {
				return nil, fmt.Errorf("list %q uses list %q, defined after it", l.name, item)
			}
			vals, err := rf.expandList(ref)
			if err != nil {
				return nil, err
			}
			out = append(out, vals...)
			continue
		}
		v, err := listItemValue(item)
		if err != nil {
			return nil, fmt.Errorf("list %q: %v", l.name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func TestRulesSchema(t *testing.T) {
	rf, errs := loadRules(t)
	for _, err := range errs {
		t.Error(err)
	}
	info := plugin.Info()
	if info.Name != "docker" || info.EventSource != "docker" {
		t.Errorf("plugin name %q, event source %q: the rules are for plugin docker, source docker", info.Name, info.EventSource)
	}
	if rf.engineVersion == "" {
		t.Errorf("%s: required_engine_version is missing", rulesPath)
	}
	var found bool
	for _, req := range rf.pluginVersions {
		if req.name != info.Name {
			t.Errorf("required_plugin_versions names plugin %q: only %q is used here", req.name, info.Name)
			continue
		}
		found = true
		want, err1 := parseSemver(req.version)
		have, err2 := parseSemver(info.Version)
		switch {
		case err1 != nil:
			t.Errorf("required_plugin_versions: docker version %q: %v", req.version, err1)
		case err2 != nil:
			t.Errorf("plugin version %q: %v", info.Version, err2)
		case want[0] != have[0] || slices.Compare(want[:], have[:]) > 0:
			// Falco loads a rules file only with a plugin of the same major
			// version, not older than required.
			t.Errorf("required_plugin_versions asks docker %s; the plugin is %s", req.version, info.Version)
		}
	}
	if !found {
		t.Errorf("required_plugin_versions does not name the docker plugin")
	}
	if n := len(rf.rules); n < 12 {
		t.Errorf("%d rules, want at least 12", n)
	}
	enabled := 0
	for _, r := range rf.rules {
		if r.enabled {
			enabled++
		}
	}
	t.Logf("%d rules (%d enabled), %d macros, %d lists; plugin %s %s", len(rf.rules), enabled, len(rf.macros), len(rf.lists), info.Name, info.Version)
}

func parseSemver(v string) ([3]int, error) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("not MAJOR.MINOR.PATCH")
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, fmt.Errorf("not MAJOR.MINOR.PATCH")
		}
		out[i] = n
	}
	return out, nil
}

// checkCondition checks the fields, operators, values, macros and lists of
// one parsed condition. visibleMacros says which macros it may use.
func (rf *rulesFile) checkCondition(n node, table map[string]host.FieldInfo, visibleMacros func(string) error) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	walk(n, func(n node) {
		switch n := n.(type) {
		case *macroRef:
			if rf.lists[n.name] != nil {
				bad("list %q used as a macro", n.name)
			} else if rf.macros[n.name] == nil {
				bad("undefined macro %q", n.name)
			} else if err := visibleMacros(n.name); err != nil {
				bad("%v", err)
			}
		case *check:
			errs = append(errs, rf.checkCheck(n, table)...)
		}
	})
	return errs
}

func (rf *rulesFile) checkCheck(c *check, table map[string]host.FieldInfo) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %s: %s", fieldRef{c.field.text, c.field.arg, c.field.hasArg}, c.op, fmt.Sprintf(format, args...)))
	}
	f, ok := table[c.field.text]
	if !ok {
		bad("no such field in the plugin's field table")
		return errs
	}
	switch {
	case f.ArgRequired && !c.field.hasArg:
		bad("the field needs an argument, e.g. %s[name]", f.Name)
	case c.field.hasArg && !f.ArgIsKey && !f.ArgIsIndex:
		bad("the field takes no argument")
	case c.field.hasArg && c.field.arg == "":
		bad("empty argument")
	case c.field.hasArg && f.ArgIsIndex && !f.ArgIsKey && !isUint(c.field.arg):
		bad("the argument must be an index")
	}
	// The values compared, lists expanded.
	var values []string
	for _, v := range c.values {
		if v.kind == tokIdent {
			l := rf.lists[v.text]
			vals, err := rf.expandList(l)
			if err != nil {
				bad("%v", err)
				continue
			}
			values = append(values, vals...)
			continue
		}
		values = append(values, v.text)
	}
	if c.op == "exists" {
		return errs
	}
	switch f.Type {
	case host.FTypeString:
		switch c.op {
		case "=", "==", "!=", "glob", "iglob", "contains", "icontains", "startswith", "endswith", "in", "pmatch":
		case "intersects":
			if !f.IsList {
				bad("intersects needs a list field; %s is one string", f.Name)
			}
		default:
			bad("operator not valid for a string field")
		}
		for _, v := range values {
			if v == "<NA>" {
				bad("comparing to <NA> does not work: use exists")
			}
		}
	case host.FTypeUint64, host.FTypeAbsTime, host.FTypeRelTime:
		switch c.op {
		case "=", "==", "!=", "<", "<=", ">", ">=", "in":
		default:
			bad("operator not valid for a numeric (%s) field", typeName(f.Type))
		}
		for _, v := range values {
			if !isUint(v) {
				bad("%s is a numeric field compared to %q, not a number", f.Name, v)
			}
		}
	default:
		bad("field type %s is not handled by this checker", typeName(f.Type))
	}
	return errs
}

func typeName(t host.FieldType) string {
	switch t {
	case host.FTypeString:
		return "string"
	case host.FTypeUint64:
		return "uint64"
	case host.FTypeAbsTime:
		return "abstime"
	case host.FTypeRelTime:
		return "reltime"
	case host.FTypeBool:
		return "bool"
	case host.FTypeIPAddr:
		return "ipaddr"
	}
	return fmt.Sprintf("type %d", t)
}

// checkOutputField checks one %field of an output.
func checkOutputField(ref fieldRef, table map[string]host.FieldInfo) error {
	f, ok := table[ref.name]
	switch {
	case !ok:
		return fmt.Errorf("%%%s: no such field in the plugin's field table", ref)
	case f.ArgRequired && !ref.hasArg:
		return fmt.Errorf("%%%s: the field needs an argument", ref)
	case ref.hasArg && !f.ArgIsKey && !f.ArgIsIndex:
		return fmt.Errorf("%%%s: the field takes no argument", ref)
	case ref.hasArg && ref.arg == "":
		return fmt.Errorf("%%%s: empty argument", ref)
	}
	return nil
}

// TestRulesConditions checks every condition and output against the
// plugin's field table, and the lists and macros (see lint).
func TestRulesConditions(t *testing.T) {
	rf, errs := loadRules(t)
	if len(errs) > 0 {
		t.Fatalf("schema errors (see TestRulesSchema): %v", errs[0])
	}
	for _, err := range rf.parse() {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for _, err := range rf.lint(fieldTable(t)) {
		t.Error(err)
	}
}

// lint checks the parsed rules file: list items Falco can paste into a
// condition; every field of every condition and output in the field table,
// with an argument where needed and operators and values of its type;
// macros defined (before the macros using them) and lists defined; list
// names only where Falco's textual substitution expects them; every list
// and macro used; outputs giving the daemon, the object and, for container
// events, the container's name and image.
func (rf *rulesFile) lint(table map[string]host.FieldInfo) []error {
	var errs []error
	errorf := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Lists: items Falco can paste into a condition, nested lists defined
	// before use.
	for _, l := range rf.listOrder {
		if _, err := rf.expandList(l); err != nil {
			errorf("%s:%d: %v", rulesPath, l.line, err)
		}
	}

	usedLists, usedMacros := map[string]bool{}, map[string]bool{}
	for _, l := range rf.listOrder {
		for _, item := range l.items {
			if rf.lists[item] != nil {
				usedLists[item] = true
			}
		}
	}
	noteUses := func(n node) {
		walk(n, func(n node) {
			switch n := n.(type) {
			case *macroRef:
				usedMacros[n.name] = true
			case *check:
				for _, v := range n.values {
					if v.kind == tokIdent {
						usedLists[v.text] = true
					}
				}
			}
		})
	}
	// Falco substitutes list names in the condition text wherever they
	// stand alone: a list name anywhere but in a list value breaks it.
	checkListNames := func(where, cond string, n node) {
		refs := map[string]int{}
		walk(n, func(n node) {
			if c, ok := n.(*check); ok {
				for _, v := range c.values {
					if v.kind == tokIdent {
						refs[v.text]++
					}
				}
			}
		})
		for name := range rf.lists {
			if got := listNameOccurrences(cond, name); got != refs[name] {
				errorf("%s: list name %q appears %d times where Falco would substitute it, %d of them as list values", where, name, got, refs[name])
			}
		}
	}

	for _, m := range rf.macroOrder {
		where := fmt.Sprintf("%s:%d: macro %q", rulesPath, m.line, m.name)
		visible := func(name string) error {
			if rf.macros[name].index >= m.index {
				return fmt.Errorf("macro %q is defined after macro %q, which uses it", name, m.name)
			}
			return nil
		}
		for _, err := range rf.checkCondition(m.ast, table, visible) {
			errorf("%s: %v", where, err)
		}
		checkListNames(where, m.cond, m.ast)
		noteUses(m.ast)
	}
	for _, r := range rf.rules {
		where := fmt.Sprintf("%s:%d: rule %q", rulesPath, r.line, r.name)
		for _, err := range rf.checkCondition(r.ast, table, func(string) error { return nil }) {
			errorf("%s: %v", where, err)
		}
		checkListNames(where, r.cond, r.ast)
		noteUses(r.ast)

		refs, err := outputFields(r.output)
		if err != nil {
			errorf("%s: output: %v", where, err)
		}
		have := map[string]bool{}
		for _, ref := range refs {
			if err := checkOutputField(ref, table); err != nil {
				errorf("%s: output: %v", where, err)
			}
			have[ref.String()] = true
		}
		// Enough context to act: which daemon, which object; for container
		// events also the container's name and image.
		want := []string{"docker.daemon.name", "docker.host", "docker.actor.id"}
		if rf.isContainerRule(r.ast) {
			want = append(want, "docker.attributes.name", "docker.attributes.image")
		}
		for _, f := range want {
			if !have[f] {
				errorf("%s: output lacks %%%s", where, f)
			}
		}
	}

	// Everything defined is used (Falco warns about unused macros and lists).
	for _, l := range rf.listOrder {
		if !usedLists[l.name] {
			errorf("%s:%d: list %q is not used", rulesPath, l.line, l.name)
		}
	}
	for _, m := range rf.macroOrder {
		if !usedMacros[m.name] {
			errorf("%s:%d: macro %q is not used", rulesPath, m.line, m.name)
		}
	}
	return errs
}

// isContainerRule reports whether a rule is about container events: it
// requires docker.type = container or an exec (through its macros).
func (rf *rulesFile) isContainerRule(n node) bool {
	var found bool
	var visit func(node)
	visit = func(n node) {
		walk(n, func(n node) {
			switch n := n.(type) {
			case *check:
				if len(n.values) == 1 && (n.field.text == "docker.type" && n.op == "=" && n.values[0].text == "container" ||
					n.field.text == "docker.action.name" && n.op == "=" && strings.HasPrefix(n.values[0].text, "exec_")) {
					found = true
				}
			case *macroRef:
				if m := rf.macros[n.name]; m != nil && m.ast != nil {
					visit(m.ast)
				}
			}
		})
	}
	visit(n)
	return found
}

// lineRef is one documented fixture line of a rule.
type lineRef struct {
	line int
	live bool // needs fields only live events carry (docker.host, docker.daemon.name)
}

var (
	annotationRE = regexp.MustCompile(`^#\s*fires:\s*(.+?)\s*;\s*quiet:\s*(.+?)\s*$`)
	refRE        = regexp.MustCompile(`^(\S+):([0-9]+(?:,[0-9]+)*)(\s+live)?$`)
	summaryRE    = regexp.MustCompile(`^#\s+([0-9]+):\s+(\S+)\s+("(?:[^"\\]|\\.)*")\s+(\S+)$`)
)

// lineSummary is how the rules file describes a fixture line, under the
// "# fires: ... ; quiet: ..." comment: "#   N: type "action" name", the name
// being docker.attributes.name, else docker.actor.id; a long one (an image
// ID, a Swarm task name) is shortened and ends with "...".
type lineSummary struct{ typ, action, name string }

// annotation reads the "# fires: ... ; quiet: ..." comment above a rule and
// the summaries of the lines it names.
func (rf *rulesFile) annotation(r *ruleDef) (fires, quiet []lineRef, summaries map[int]lineSummary, err error) {
	summaries = map[int]lineSummary{}
	for i := r.line - 2; i >= 0 && strings.HasPrefix(strings.TrimSpace(rf.lines[i]), "#"); i-- {
		text := strings.TrimSpace(rf.lines[i])
		if m := summaryRE.FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[1])
			action, err := strconv.Unquote(m[3])
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s:%d: bad quoted action %s", rulesPath, i+1, m[3])
			}
			summaries[n] = lineSummary{m[2], action, m[4]}
			continue
		}
		m := annotationRE.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		if fires, err = parseRefs(m[1]); err != nil {
			return nil, nil, nil, err
		}
		if quiet, err = parseRefs(m[2]); err != nil {
			return nil, nil, nil, err
		}
		return fires, quiet, summaries, nil
	}
	return nil, nil, nil, fmt.Errorf("no '# fires: %s:N ; quiet: %s:N' comment above the rule", fixtureRef, fixtureRef)
}

// summarize describes evt as the rules file does.
func summarize(t *testing.T, s *host.State, evt *host.Event, table map[string]host.FieldInfo) lineSummary {
	t.Helper()
	get := func(name string) string {
		v, err := s.ExtractOne(evt, table[name].Field)
		if err != nil {
			t.Fatalf("extract %s: %v", name, err)
		}
		if !v.Present {
			return ""
		}
		return v.Strings[0]
	}
	name := get("docker.attributes.name")
	if name == "" {
		name = get("docker.actor.id")
	}
	return lineSummary{get("docker.type"), get("docker.action"), shortName(name)}
}

// shortName shortens the generated IDs and names that change with every
// recording.
func shortName(name string) string {
	if len(name) > 24 {
		return name[:19] + "..."
	}
	return name
}

// matches reports whether the documented summary fits the event's: same
// type and action, and the same name unless it is a shortened generated one.
func (doc lineSummary) matches(ev lineSummary) bool {
	return doc.typ == ev.typ && doc.action == ev.action &&
		(doc.name == ev.name || strings.HasSuffix(doc.name, "...") && strings.HasSuffix(ev.name, "..."))
}

func parseRefs(s string) ([]lineRef, error) {
	m := refRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("%q: want %s:N[,N...][ live]", s, fixtureRef)
	}
	if m[1] != fixtureRef {
		return nil, fmt.Errorf("%q names %s, want %s", s, m[1], fixtureRef)
	}
	var out []lineRef
	for _, n := range strings.Split(m[2], ",") {
		line, _ := strconv.Atoi(n)
		out = append(out, lineRef{line: line, live: m[3] != ""})
	}
	return out, nil
}

// TestRulesFixture checks, for every rule, that the fixture lines its
// comment documents exist, and that on each firing line the plugin extracts
// the fields the condition needs (in every "and", in one branch of every
// "or": see firable). Lines marked "live" need docker.host or
// docker.daemon.name, which only live events carry: they are served by a
// fake daemon to the plugin's live source, and must NOT be firable on
// replay. The truth of the conditions is not evaluated (no Falco here).
func TestRulesFixture(t *testing.T) {
	rf := mustLoadRules(t)
	table := fieldTable(t)
	macros := rf.macroASTs()

	raw, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	replayed := replayFixture(t)
	if len(replayed) != len(lines) {
		t.Fatalf("replay of %s delivered %d events for %d lines", fixturePath, len(replayed), len(lines))
	}

	type firing struct {
		rule *ruleDef
		ref  lineRef
	}
	var liveLines []int // fixture lines to serve live, once each
	var live []firing
	for _, r := range rf.rules {
		failed := false
		bad := func(format string, args ...any) {
			t.Helper()
			t.Errorf(format, args...)
			failed = true
		}
		fires, quiet, summaries, err := rf.annotation(r)
		if err != nil {
			bad("%s:%d: rule %q: %v", rulesPath, r.line, r.name, err)
			continue
		}
		if len(fires) == 0 || len(quiet) == 0 {
			bad("rule %q: needs at least one firing and one quiet fixture line", r.name)
		}
		firesAt := map[int]bool{} // on replay
		for _, ref := range fires {
			if !ref.live {
				firesAt[ref.line] = true
			}
		}
		for _, ref := range append(append([]lineRef{}, fires...), quiet...) {
			if ref.line < 1 || ref.line > len(lines) {
				bad("rule %q: %s:%d: the fixture has %d lines", r.name, fixtureRef, ref.line, len(lines))
			}
		}
		for _, ref := range quiet {
			if firesAt[ref.line] {
				bad("rule %q: line %d is documented both to fire and to stay quiet", r.name, ref.line)
			}
		}
		if failed {
			continue
		}
		// Each documented line is described, and the description fits the
		// fixture: a re-recorded fixture whose lines moved is caught here.
		for _, ref := range append(append([]lineRef{}, fires...), quiet...) {
			ev := replayed[ref.line-1]
			have := summarize(t, ev.state, ev.evt, table)
			doc, ok := summaries[ref.line]
			switch {
			case !ok:
				bad("rule %q: no '#   %d: %s %q %s' line describing %s:%d", r.name, ref.line, have.typ, have.action, have.name, fixtureRef, ref.line)
			case !doc.matches(have):
				bad("rule %q: %s:%d is documented as %s %q %s but is %s %q %s", r.name, fixtureRef, ref.line, doc.typ, doc.action, doc.name, have.typ, have.action, have.name)
			}
		}
		used := rf.fieldsUsed(r.ast)
		for _, ref := range fires {
			ev := replayed[ref.line-1]
			ok, missing := firable(r.ast, macros, presence(t, ev.state, ev.evt, used, table))
			switch {
			case ref.live && ok:
				t.Errorf("rule %q: %s:%d is marked live, but replayed it already has the fields to fire", r.name, fixtureRef, ref.line)
			case ref.live:
				if !slices.Contains(liveLines, ref.line) {
					liveLines = append(liveLines, ref.line)
				}
				live = append(live, firing{r, ref})
			case !ok:
				t.Errorf("rule %q cannot fire on %s:%d: the plugin extracts no %v from it\n%s", r.name, fixtureRef, ref.line, dedupe(missing), lines[ref.line-1])
			default:
				logOutputNA(t, r, ref.line, ev.state, ev.evt, table)
			}
		}
	}

	if len(live) == 0 {
		return
	}
	// The live lines, streamed by a fake daemon through the plugin's live
	// source, carry docker.host and docker.daemon.name.
	var served []string
	for _, n := range liveLines {
		served = append(served, lines[n-1])
	}
	events, s := streamLive(t, "unlisted-node", served)
	for _, f := range live {
		ev := events[slices.Index(liveLines, f.ref.line)]
		ok, missing := firable(f.rule.ast, macros, presence(t, s, ev, rf.fieldsUsed(f.rule.ast), table))
		if !ok {
			t.Errorf("rule %q cannot fire on %s:%d even live: no %v", f.rule.name, fixtureRef, f.ref.line, dedupe(missing))
		} else {
			logOutputNA(t, f.rule, f.ref.line, s, ev, table)
		}
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

// presence returns, for the fields a rule uses, whether the plugin extracts
// them from evt.
func presence(t *testing.T, s *host.State, evt *host.Event, used []fieldRef, table map[string]host.FieldInfo) func(fieldRef) bool {
	t.Helper()
	got := map[fieldRef]bool{}
	for _, ref := range used {
		v, err := s.ExtractOne(evt, request(table, ref))
		if err != nil {
			t.Fatalf("extract %s: %v", ref, err)
		}
		got[ref] = v.Present
	}
	return func(ref fieldRef) bool { return got[ref] }
}

func request(table map[string]host.FieldInfo, ref fieldRef) host.Field {
	f := table[ref.name].Field
	if ref.hasArg {
		f.ArgKey, f.ArgPresent = ref.arg, true
	}
	return f
}

// logOutputNA logs the output fields Falco would print as <NA> for a firing
// line (not an error: e.g. a container without a compose project).
func logOutputNA(t *testing.T, r *ruleDef, line int, s *host.State, evt *host.Event, table map[string]host.FieldInfo) {
	t.Helper()
	refs, _ := outputFields(r.output)
	var na []string
	for _, ref := range refs {
		if v, err := s.ExtractOne(evt, request(table, ref)); err == nil && !v.Present {
			na = append(na, ref.String())
		}
	}
	t.Logf("%s:%d %q: output <NA>: %v", fixtureRef, line, r.name, na)
}

type replayedEvent struct {
	state *host.State
	evt   *host.Event
}

// replayFixture reads the whole fixture through the plugin's replay mode.
func replayFixture(t *testing.T) []replayedEvent {
	t.Helper()
	abs, err := filepath.Abs(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	s := initPlugin(t, `{}`)
	inst := openPlugin(t, s, "file://"+abs)
	var out []replayedEvent
	for _, evt := range plugintest.ReadAll(t, inst, 256) { // 256: the default batchSize
		out = append(out, replayedEvent{s, evt})
	}
	return out
}

// streamLive serves lines from a fake Docker daemon (GET /_ping, /info
// naming the daemon name, /events) on a unix socket, opens the plugin's live
// source on it and returns the delivered events, in order.
func streamLive(t *testing.T, name string, lines []string) ([]*host.Event, *host.State) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Ostype", "linux")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/info"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ID":"FAKE:DAEMON","Name":%q}`, name)
		case strings.HasSuffix(r.URL.Path, "/events") && r.URL.Query().Get("since") == "":
			w.Header().Set("Content-Type", "application/json")
			for _, line := range lines {
				fmt.Fprintln(w, line)
			}
			w.(http.Flusher).Flush()
			select { // a live stream stays open
			case <-r.Context().Done():
			case <-done:
			}
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })

	s := initPlugin(t, fmt.Sprintf(`{"host":%q,"flushInterval":10}`, "unix://"+sock))
	inst := openPlugin(t, s, "")
	var out []*host.Event
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(out) < len(lines) && ctx.Err() == nil {
		batch, _, err := inst.NextBatch()
		if err != nil {
			t.Fatalf("live next_batch: %v", err)
		}
		for i := range batch {
			c := batch[i].Clone()
			t.Cleanup(c.Free)
			out = append(out, c)
		}
	}
	if len(out) != len(lines) {
		t.Fatalf("fake daemon: %d of %d events delivered", len(out), len(lines))
	}
	return out, s
}

// TestRulesReadme checks that README.md lists every rule with its priority.
func TestRulesReadme(t *testing.T) {
	rf := mustLoadRules(t)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| Docker ") {
			rows++
		}
	}
	for _, r := range rf.rules {
		if !strings.Contains(string(readme), "\n| "+r.name+" | "+r.priority+" |") {
			t.Errorf("README.md has no table row %q", "| "+r.name+" | "+r.priority+" |")
		}
	}
	if rows != len(rf.rules) {
		t.Errorf("README.md has %d rule rows, the rules file %d rules", rows, len(rf.rules))
	}
}
