package rules

// A checker for Falco condition syntax: a tokenizer and a recursive-descent
// parser that follow libsinsp's filter grammar (userspace/libsinsp/filter/
// parser.cpp: the same token regular expressions, operators and precedence)
// and build a syntax tree of checks, macro references and list values. It
// never evaluates a condition: the tree is used to check fields, types,
// macros and lists, and to tell which fields an event must carry for a rule
// to be able to fire. Whether a condition is true is Falco's business.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type tokKind int

const (
	tokLParen tokKind = iota
	tokRParen
	tokComma
	tokAnd
	tokOr
	tokNot
	tokField  // a field name, with its [argument] if any
	tokIdent  // a macro name (in an expression) or a list name (in a list value)
	tokOp     // an operator
	tokString // a quoted literal, unescaped
	tokBare   // a bare literal (or a number)
)

var tokNames = [...]string{"(", ")", ",", "and", "or", "not", "field", "identifier", "operator", "string", "bare string"}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexed token. For tokField, text is the field name and arg its
// argument (hasArg tells an empty argument from none).
type token struct {
	kind   tokKind
	text   string
	arg    string
	hasArg bool
	pos    int // byte offset in the condition
}

// Regular expressions of libsinsp's parser (RGX_*), anchored.
var (
	rgxNotBlank    = regexp.MustCompile(`^not[ \t\n\r\f\v]+`)
	rgxIdentifier  = regexp.MustCompile(`^[a-zA-Z]+[a-zA-Z0-9_]*`)
	rgxFieldName   = regexp.MustCompile(`^[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+`)
	rgxFieldArgBar = regexp.MustCompile(`^[^\]\["'\s]+`)
	rgxHexNum      = regexp.MustCompile(`^0[xX][0-9a-zA-Z]+`)
	rgxNumber      = regexp.MustCompile(`^[+\-]?[0-9]+[.]?[0-9]*([eE][+\-][0-9]+)?`)
	rgxBareStr     = regexp.MustCompile(`^[^()"'\s=,]+`)
)

// Operators, in the order libsinsp tries them. String operators spelled
// with a trailing space need one: libsinsp does not accept a line break
// there.
var (
	unaryOps   = []string{"exists"}
	numOps     = []string{"<=", "<", ">=", ">"}
	strOps     = []string{"==", "=", "!=", "glob ", "iglob ", "contains ", "icontains ", "bcontains ", "startswith ", "bstartswith ", "endswith "}
	listOps    = []string{"intersects", "in", "pmatch"}
	transforms = []string{"val(", "tolower(", "toupper(", "b64(", "basename("}
)

// Syntax tree.
type (
	node interface{ position() int }

	andNode struct {
		kids []node
		pos  int
	}
	orNode struct {
		kids []node
		pos  int
	}
	notNode struct {
		kid node
		pos int
	}
	macroRef struct {
		name string
		pos  int
	}
	// check is "field op value(s)" or "field exists".
	check struct {
		field  token   // tokField
		op     string  // trimmed
		values []token // tokString/tokBare values, and tokIdent list references
		isList bool    // values came in parentheses
		pos    int
	}
)

func (n *andNode) position() int  { return n.pos }
func (n *orNode) position() int   { return n.pos }
func (n *notNode) position() int  { return n.pos }
func (n *macroRef) position() int { return n.pos }
func (n *check) position() int    { return n.pos }

// parser holds the condition being read; tokens collects every token read,
// in order (tokenize returns them).
type parser struct {
	src    string
	pos    int
	lists  map[string]bool // names of the defined lists: bare list values with these names are list references
	tokens []token
}

type syntaxError struct {
	pos int
	msg string
	src string
}

func (e *syntaxError) Error() string {
	start := max(0, e.pos-30)
	end := min(len(e.src), e.pos+30)
	return fmt.Sprintf("at offset %d (near %q): %s", e.pos, e.src[start:end], e.msg)
}

func (p *parser) fail(format string, args ...any) {
	panic(&syntaxError{pos: p.pos, msg: fmt.Sprintf(format, args...), src: p.src})
}

// parseCondition parses cond. lists names the defined lists.
func parseCondition(cond string, lists map[string]bool) (n node, tokens []token, err error) {
	p := &parser{src: cond, lists: lists}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			n, tokens, err = nil, p.tokens, se
		}
	}()
	if strings.TrimSpace(cond) == "" {
		p.fail("empty condition")
	}
	n = p.parseOr()
	p.blank()
	if p.pos != len(p.src) {
		p.fail("unexpected text, expecting 'and', 'or' or the end")
	}
	return n, p.tokens, nil
}

// tokenize returns the tokens of cond.
func tokenize(cond string, lists map[string]bool) ([]token, error) {
	_, toks, err := parseCondition(cond, lists)
	return toks, err
}

func (p *parser) emit(t token) token {
	p.tokens = append(p.tokens, t)
	return t
}

func (p *parser) blank() bool {
	start := p.pos
	for p.pos < len(p.src) && strings.IndexByte(" \t\b\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
	return p.pos > start
}

func (p *parser) lit(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *parser) rgx(re *regexp.Regexp) (string, bool) {
	m := re.FindString(p.src[p.pos:])
	if m == "" {
		return "", false
	}
	p.pos += len(m)
	return m, true
}

func (p *parser) oneOf(ops []string) (string, bool) {
	for _, op := range ops {
		if p.lit(op) {
			return op, true
		}
	}
	return "", false
}

func (p *parser) parseOr() node {
	pos := p.pos
	p.blank()
	kids := []node{p.parseAnd()}
	p.blank()
	for {
		at := p.pos
		if !p.lit("or") {
			break
		}
		p.emit(token{kind: tokOr, text: "or", pos: at})
		if !p.blank() {
			if !p.lit("(") {
				p.fail("expected blank or '(' after 'or'")
			}
			p.emit(token{kind: tokLParen, text: "(", pos: p.pos - 1})
			kids = append(kids, p.embedded())
		} else {
			kids = append(kids, p.parseAnd())
		}
		p.blank()
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &orNode{kids: kids, pos: pos}
}

func (p *parser) parseAnd() node {
	pos := p.pos
	p.blank()
	kids := []node{p.parseNot()}
	p.blank()
	for {
		at := p.pos
		if !p.lit("and") {
			break
		}
		p.emit(token{kind: tokAnd, text: "and", pos: at})
		if !p.blank() {
			if !p.lit("(") {
				p.fail("expected blank or '(' after 'and'")
			}
			p.emit(token{kind: tokLParen, text: "(", pos: p.pos - 1})
			kids = append(kids, p.embedded())
		} else {
			kids = append(kids, p.parseNot())
		}
		p.blank()
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &andNode{kids: kids, pos: pos}
}

func (p *parser) parseNot() node {
	pos := p.pos
	p.blank()
	negations := 0
	for {
		at := p.pos
		if _, ok := p.rgx(rgxNotBlank); !ok {
			break
		}
		p.emit(token{kind: tokNot, text: "not", pos: at})
		negations++
	}
	var kid node
	if at := p.pos; p.lit("not(") {
		p.emit(token{kind: tokNot, text: "not", pos: at})
		p.emit(token{kind: tokLParen, text: "(", pos: at + 3})
		negations++
		kid = p.embedded()
	} else {
		kid = p.parseCheck()
	}
	if negations%2 == 1 {
		return &notNode{kid: kid, pos: pos}
	}
	return kid
}

// embedded reads the rest of a parenthesised expression, after its "(".
func (p *parser) embedded() node {
	p.blank()
	n := p.parseOr()
	p.blank()
	if !p.lit(")") {
		p.fail("expected a ')' token")
	}
	p.emit(token{kind: tokRParen, text: ")", pos: p.pos - 1})
	return n
}

func (p *parser) parseCheck() node {
	p.blank()
	pos := p.pos
	if p.lit("(") {
		p.emit(token{kind: tokLParen, text: "(", pos: pos})
		return p.embedded()
	}
	for _, tr := range transforms {
		if strings.HasPrefix(p.src[p.pos:], tr) {
			p.fail("field transformer %s) is not supported by this checker", tr)
		}
	}
	if name, ok := p.rgx(rgxFieldName); ok {
		field := token{kind: tokField, text: name, pos: pos}
		if p.lit("[") {
			field.hasArg = true
			if s, ok := p.quoted(); ok {
				field.arg = s
			} else if s, ok := p.rgx(rgxFieldArgBar); ok {
				field.arg = s
			} else {
				p.fail("expected a valid field argument: a quoted string or a bare string")
			}
			if !p.lit("]") {
				p.fail("expected a ']' token")
			}
		}
		p.emit(field)
		return p.parseCondition(field, pos)
	}
	if name, ok := p.rgx(rgxIdentifier); ok {
		p.emit(token{kind: tokIdent, text: name, pos: pos})
		return &macroRef{name: name, pos: pos}
	}
	p.fail("expected a '(' token, a field check, or an identifier")
	return nil
}

func (p *parser) parseCondition(field token, pos int) node {
	p.blank()
	c := &check{field: field, pos: pos}
	at := p.pos
	if op, ok := p.oneOf(unaryOps); ok {
		c.op = op
		p.emit(token{kind: tokOp, text: op, pos: at})
		return c
	}
	if op, ok := p.oneOf(numOps); ok {
		c.op = op
		p.emit(token{kind: tokOp, text: op, pos: at})
		p.blank()
		vpos := p.pos
		v, ok := p.rgx(rgxHexNum)
		if !ok {
			v, ok = p.rgx(rgxNumber)
		}
		if !ok {
			p.fail("expected a number after %q", op)
		}
		c.values = []token{p.emit(token{kind: tokBare, text: v, pos: vpos})}
		return c
	}
	if op, ok := p.oneOf(strOps); ok {
		c.op = strings.TrimSpace(op)
		p.emit(token{kind: tokOp, text: c.op, pos: at})
		c.values = []token{p.strValue()}
		return c
	}
	if op, ok := p.oneOf(listOps); ok {
		c.op = op
		c.isList = true
		p.emit(token{kind: tokOp, text: op, pos: at})
		p.blank()
		lpos := p.pos
		if !p.lit("(") {
			p.fail("expected '(' and a list after %q (a list name must be written in parentheses)", op)
		}
		p.emit(token{kind: tokLParen, text: "(", pos: lpos})
		p.blank()
		if !strings.HasPrefix(p.src[p.pos:], ")") {
			c.values = append(c.values, p.strValue())
			p.blank()
			for {
				cpos := p.pos
				if !p.lit(",") {
					break
				}
				p.emit(token{kind: tokComma, text: ",", pos: cpos})
				c.values = append(c.values, p.strValue())
				p.blank()
			}
		}
		rpos := p.pos
		if !p.lit(")") {
			p.fail("expected a ')' token")
		}
		p.emit(token{kind: tokRParen, text: ")", pos: rpos})
		return c
	}
	p.fail("expected a valid check operator: one of %s", strings.Join(append(append(append(unaryOps, numOps...), strOps...), listOps...), ", "))
	return nil
}

// strValue reads a quoted or bare string. A bare value naming a defined
// list is a list reference (Falco substitutes the list's items for it).
func (p *parser) strValue() token {
	p.blank()
	pos := p.pos
	for _, tr := range transforms {
		if strings.HasPrefix(p.src[p.pos:], tr) {
			p.fail("field transformer %s) is not supported by this checker", tr)
		}
	}
	if s, ok := p.quoted(); ok {
		return p.emit(token{kind: tokString, text: s, pos: pos})
	}
	if s, ok := p.rgx(rgxBareStr); ok {
		if p.lists[s] {
			return p.emit(token{kind: tokIdent, text: s, pos: pos})
		}
		return p.emit(token{kind: tokBare, text: s, pos: pos})
	}
	p.fail("expected a string value")
	return token{}
}

// quoted reads a string in single or double quotes, as libsinsp does: the
// closing quote is the first one not preceded by a backslash; escapes are
// then decoded.
func (p *parser) quoted() (string, bool) {
	if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
		return "", false
	}
	delim := p.src[p.pos]
	prev := byte('\\')
	for i := p.pos; i < len(p.src); i++ {
		c := p.src[i]
		if i > p.pos && c == delim && prev != '\\' {
			raw := p.src[p.pos : i+1]
			p.pos = i + 1
			s, err := unescape(raw)
			if err != nil {
				p.fail("bad quoted string %s: %v", raw, err)
			}
			return s, true
		}
		prev = c
	}
	p.fail("unterminated quoted string")
	return "", false
}

// unescape decodes a quoted literal (quotes included) the way libsinsp's
// unescape_str does for the escapes that matter here.
func unescape(raw string) (string, error) {
	body := raw[1 : len(raw)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(body) {
			return "", fmt.Errorf("trailing backslash")
		}
		i++
		switch body[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case ' ', '\\', '"', '\'', '/':
			b.WriteByte(body[i])
		default:
			return "", fmt.Errorf("unsupported escape \\%c", body[i])
		}
	}
	return b.String(), nil
}

// listItemValue is the value of one list item as Falco pastes it into
// conditions: a quoted item is that string; a bare item with a space gets
// quoted by Falco. (A bare item naming an earlier list is expanded by the
// caller.)
func listItemValue(item string) (string, error) {
	if item == "" {
		return "", fmt.Errorf("empty item")
	}
	if item[0] == '"' || item[0] == '\'' {
		p := &parser{src: item}
		var (
			s   string
			ok  bool
			err error
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = r.(*syntaxError)
				}
			}()
			s, ok = p.quoted()
		}()
		if err != nil || !ok || p.pos != len(item) {
			return "", fmt.Errorf("item %s: not one quoted string (%v)", item, err)
		}
		return s, nil
	}
	if strings.ContainsAny(item, `()",='`) {
		return "", fmt.Errorf("bare item %q holds one of ( ) , = or a quote: Falco pastes items into the condition text, so it must be quoted", item)
	}
	if strings.ContainsAny(item, "\t\n\r") {
		return "", fmt.Errorf("bare item %q holds a tab or line break", item)
	}
	return item, nil
}

// listNameOccurrences counts where Falco's textual list substitution
// (rule_loader_compiler.cpp, resolve_list) would replace name in cond: each
// occurrence delimited by start/end of text, blanks or ( ) , =.
func listNameOccurrences(cond, name string) int {
	const delims = " \t\n\r(),="
	n := 0
	for i := 0; ; {
		k := strings.Index(cond[i:], name)
		if k < 0 {
			return n
		}
		start, end := i+k, i+k+len(name)
		if (start == 0 || strings.IndexByte(delims, cond[start-1]) >= 0) && (end >= len(cond) || strings.IndexByte(delims, cond[end]) >= 0) {
			n++
		}
		i = start + 1
	}
}

// walk calls fn on n and every node below it.
func walk(n node, fn func(node)) {
	fn(n)
	switch n := n.(type) {
	case *andNode:
		for _, k := range n.kids {
			walk(k, fn)
		}
	case *orNode:
		for _, k := range n.kids {
			walk(k, fn)
		}
	case *notNode:
		walk(n.kid, fn)
	}
}

// fieldRef names one field as a condition or an output uses it.
type fieldRef struct {
	name   string
	arg    string
	hasArg bool
}

func (f fieldRef) String() string {
	if f.hasArg {
		return f.name + "[" + f.arg + "]"
	}
	return f.name
}

// firable reports whether a condition could be true of an event that
// carries exactly the fields present says, and if not, which fields are
// missing. It is a necessary condition, not an evaluation: in Falco a check
// on a field the event lacks (<NA>) is false, so a rule can only fire if,
// in every "and" and in at least one branch of every "or", the checks'
// fields are present. Values are never compared; under "not" everything is
// possible (the negation of a false check is true).
func firable(n node, macros map[string]node, present func(fieldRef) bool) (bool, []string) {
	switch n := n.(type) {
	case *andNode:
		var missing []string
		ok := true
		for _, k := range n.kids {
			if kok, km := firable(k, macros, present); !kok {
				ok = false
				missing = append(missing, km...)
			}
		}
		return ok, missing
	case *orNode:
		var missing []string
		for _, k := range n.kids {
			kok, km := firable(k, macros, present)
			if kok {
				return true, nil
			}
			missing = append(missing, km...)
		}
		return false, missing
	case *notNode:
		return true, nil
	case *macroRef:
		return firable(macros[n.name], macros, present)
	case *check:
		ref := fieldRef{name: n.field.text, arg: n.field.arg, hasArg: n.field.hasArg}
		if present(ref) {
			return true, nil
		}
		return false, []string{ref.String()}
	}
	panic(fmt.Sprintf("unknown node %T", n))
}

// isUint reports whether v is a number libsinsp accepts for an integer
// field: decimal or 0x hexadecimal.
func isUint(v string) bool {
	if _, err := strconv.ParseUint(v, 10, 64); err == nil {
		return true
	}
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		_, err := strconv.ParseUint(v[2:], 16, 64)
		return err == nil
	}
	return false
}

// outputFieldRE finds the %fields of a rule output, as Falco's formatter
// reads them: a field name and an optional [argument].
var outputFieldRE = regexp.MustCompile(`%([a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+)(\[([^\]]*)\])?`)

// outputFields returns the fields of an output, and an error for a % that
// does not start a field.
func outputFields(output string) ([]fieldRef, error) {
	var refs []fieldRef
	for i := 0; i < len(output); i++ {
		if output[i] != '%' {
			continue
		}
		m := outputFieldRE.FindStringSubmatchIndex(output[i:])
		if m == nil || m[0] != 0 {
			end := min(len(output), i+20)
			return nil, fmt.Errorf("%% at offset %d does not start a field: %q", i, output[i:end])
		}
		ref := fieldRef{name: output[i+m[2] : i+m[3]]}
		if m[4] >= 0 {
			ref.hasArg = true
			ref.arg = output[i+m[6] : i+m[7]]
		}
		refs = append(refs, ref)
		i += m[1] - 1
	}
	return refs, nil
}

// TestConditionChecker checks the checker itself on conditions Falco
// accepts and on ones it, or the field table, rejects.
func TestConditionChecker(t *testing.T) {
	rf := &rulesFile{
		lists: map[string]*listDef{
			"shells": {name: "shells", items: []string{"sh", "bash"}, index: 0},
			"spaced": {name: "spaced", items: []string{`"a b"`, "c d"}, index: 1},
			"nested": {name: "nested", items: []string{"shells", "zsh"}, index: 2},
			"nums":   {name: "nums", items: []string{"9", "15"}, index: 3},
			"bad":    {name: "bad", items: []string{"a,b"}, index: 4},
		},
		macros: map[string]*macroDef{"m": {name: "m", cond: "docker.type = container", index: 0}},
	}
	names := map[string]bool{}
	for n := range rf.lists {
		names[n] = true
	}
	table := fieldTable(t)
	for _, tc := range []struct {
		cond string
		want string // "" = no error; else a substring of the first error
	}{
		{`docker.type = container`, ""},
		{`docker.type=container and not docker.action in (die, "kill")`, ""},
		{`not(docker.type = image) or (m and docker.exec.command startswith "sh ")`, ""},
		{`docker.exec.command in (shells, nested)`, ""},
		{`docker.exec.command in (spaced)`, ""},
		{`docker.attributes[destination] in (/var/run, /run) and docker.attributes["read/write"] = "true"`, ""},
		{`docker.signal = 9 and docker.exitcode in (nums) and docker.service.replicas.new < 0x10`, ""},
		{`docker.host exists and not docker.daemon.name exists`, ""},
		{`docker.attributes.image glob "*/*:*"`, ""},
		{"docker.type = container\n and\n docker.action = create", ""},
		{`docker.nosuch = x`, "no such field"},
		{`docker.attributes = x`, "needs an argument"},
		{`docker.type[x] = y`, "takes no argument"},
		{`docker.signal = nine`, "not a number"},
		{`docker.signal contains 9`, "not valid for a numeric"},
		{`docker.type > 3`, "not valid for a string"},
		{`docker.type = "<NA>"`, "use exists"},
		{`docker.exitcode in (shells)`, "not a number"},
		{`docker.type in (bad)`, "must be quoted"},
		{`undefined_macro and docker.type = x`, "undefined macro"},
		{`shells`, "used as a macro"},
		{`docker.type = container and`, "expected"},
		{`(docker.type = container`, "expected a ')'"},
		{`docker.type = container)`, "unexpected text"},
		{`docker.type == `, "expected a string value"},
		{`docker.type in shells`, "in parentheses"},
		{"docker.exec.command startswith\n\"sh\"", "expected a valid check operator"},
		{`docker.type = container or`, "expected"},
		{`docker.type = "unterminated`, "unterminated"},
		{`tolower(docker.type) = x`, "not supported"},
	} {
		n, _, err := parseCondition(tc.cond, names)
		var errs []error
		if err != nil {
			errs = []error{err}
		} else {
			errs = rf.checkCondition(n, table, func(string) error { return nil })
		}
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%q: unexpected error: %v", tc.cond, errs[0])
		case tc.want != "" && len(errs) == 0:
			t.Errorf("%q: no error, want one containing %q", tc.cond, tc.want)
		case tc.want != "" && !strings.Contains(errs[0].Error(), tc.want):
			t.Errorf("%q: error %q, want one containing %q", tc.cond, errs[0], tc.want)
		}
	}

	// Tokens.
	toks, err := tokenize(`not docker.attributes[com.docker.compose.project] in (shells, "x y") and m`, names)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		s := tk.kind.String() + ":" + tk.text
		if tk.hasArg {
			s += "[" + tk.arg + "]"
		}
		got = append(got, s)
	}
	want := "not:not field:docker.attributes[com.docker.compose.project] operator:in (:( identifier:shells ,:, string:x y ):) and:and identifier:m"
	if strings.Join(got, " ") != want {
		t.Errorf("tokens:\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	// Presence analysis.
	n, _, _ := parseCondition(`docker.type = node and (docker.node.availability.new in (drain) or docker.node.role.new exists) and not docker.host exists`, names)
	has := func(names ...string) func(fieldRef) bool {
		return func(f fieldRef) bool { return slices.Contains(names, f.String()) }
	}
	if ok, _ := firable(n, nil, has("docker.type", "docker.node.availability.new")); !ok {
		t.Errorf("firable: one branch of the or should do")
	}
	if ok, missing := firable(n, nil, has("docker.type")); ok || fmt.Sprint(missing) != "[docker.node.availability.new docker.node.role.new]" {
		t.Errorf("firable without either branch = %v, missing %v", ok, missing)
	}

	// Outputs and list substitution.
	refs, err := outputFields(`x=%docker.node.role.old->%docker.node.role.new p=%docker.attributes[com.docker.compose.project])`)
	if err != nil || fmt.Sprint(refs) != "[docker.node.role.old docker.node.role.new docker.attributes[com.docker.compose.project]]" {
		t.Errorf("outputFields = %v, %v", refs, err)
	}
	if _, err := outputFields(`100% sure`); err == nil {
		t.Errorf("outputFields accepted a stray %%")
	}
	if n := listNameOccurrences("x in (shells) and y = shells and shells_more", "shells"); n != 2 {
		t.Errorf("listNameOccurrences = %d, want 2", n)
	}
}
