package falcoyaml

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonValue is the part of nlohmann::json that the conversion builds.
// A nil *jsonValue is JSON null (nlohmann's default-constructed value).
type jsonValue struct {
	kind   jsonKind
	int    int64
	float  float64
	bool   bool
	str    string
	array  []*jsonValue
	object map[string]*jsonValue
}

type jsonKind int

const (
	jsonInt jsonKind = iota
	jsonFloat
	jsonBool
	jsonString
	jsonArray
	jsonObject
)

// dump writes v as nlohmann::json::dump() does with no indentation.
func dump(b *strings.Builder, v *jsonValue) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	switch v.kind {
	case jsonInt:
		b.WriteString(strconv.FormatInt(v.int, 10))
	case jsonFloat:
		b.WriteString(formatDouble(v.float))
	case jsonBool:
		b.WriteString(strconv.FormatBool(v.bool))
	case jsonString:
		return dumpString(b, v.str)
	case jsonArray:
		b.WriteByte('[')
		for i, e := range v.array {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := dump(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case jsonObject:
		// nlohmann::json's object_t is a std::map<std::string, ...>: keys
		// come out in bytewise order.
		keys := make([]string, 0, len(v.object))
		for k := range v.object {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := dumpString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := dump(b, v.object[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	return nil
}

// dumpString is nlohmann's serializer::dump_escaped with ensure_ascii off:
// UTF-8 passes through, invalid UTF-8 throws (type_error 316).
func dumpString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("nlohmann::json would throw type_error.316 (invalid UTF-8) on %q", s)
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return nil
}

// formatDouble is nlohmann's dump of a double (detail::to_chars): NaN and
// infinities become null; otherwise the shortest digits that round-trip,
// laid out by format_buffer with min_exp -4 and max_exp 15: plain decimal
// when the decimal point falls within that window ("1000.0", "0.0001"), else
// d.ddde±XX with at least two exponent digits ("1e+15", "1e-05").
func formatDouble(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	sign := ""
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	// "d.ddde±XX": the digits and the decimal exponent of the first one.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	const minExp, maxExp = -4, 15
	switch {
	case k <= n && n <= maxExp:
		return sign + digits + strings.Repeat("0", n-k) + ".0"
	case 0 < n && n <= maxExp:
		return sign + digits[:n] + "." + digits[n:]
	case minExp < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	m := digits[:1]
	if k > 1 {
		m += "." + digits[1:]
	}
	ex := n - 1
	es := "+"
	if ex < 0 {
		es, ex = "-", -ex
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, ex)
}
