package falcoyaml

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// isYAMLCppNull reports whether yaml-cpp reads the scalar as a null node: a
// plain (unquoted, non-block) scalar spelled "", ~, null, Null or NULL,
// whatever its tag (yaml-cpp src/singledocparser.cpp, IsNullString in
// src/null.cpp).
func isYAMLCppNull(n *yaml.Node) bool {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// cSpace is isspace in the C locale: what std::ws skips.
const cSpace = " \t\n\v\f\r"

// yamlCppInt is YAML::convert<int>::decode: `stream >> std::noskipws >> n`
// with the dec flag unset, then only whitespace may remain. libstdc++'s
// num_get reads an optional sign, then "0x"/"0X" selects base 16 and a
// leading "0" base 8; operator>>(int&) fails outside the int32 range.
func yamlCppInt(s string) (int64, bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base, digits := uint64(10), 0
	if i < len(s) && s[i] == '0' {
		i++
		base, digits = 8, 1 // the zero itself is a digit
		if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
			i++
			base, digits = 16, 0 // "0x" needs hex digits after it
		}
	}
	var v uint64
	for ; i < len(s); i++ {
		d, ok := digitValue(s[i], base)
		if !ok {
			break
		}
		digits++
		if v = v*base + d; v > 1<<31 {
			return 0, false // beyond int32 either way (and num_get's long overflow)
		}
	}
	if digits == 0 || strings.Trim(s[i:], cSpace) != "" {
		return 0, false
	}
	n := int64(v)
	if neg {
		n = -n
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, false
	}
	return n, true
}

func digitValue(c byte, base uint64) (uint64, bool) {
	var d uint64
	switch {
	case c >= '0' && c <= '9':
		d = uint64(c - '0')
	case c >= 'a' && c <= 'f':
		d = uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = uint64(c-'A') + 10
	default:
		return 0, false
	}
	return d, d < base
}

// cppFloat is what libstdc++'s num_get::_M_extract_float collects in the C
// locale (sign, digits, one '.', an exponent only after a digit) that strtod
// must then consume entirely, followed by whitespace only.
var cppFloat = regexp.MustCompile(`^([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)[ \t\n\v\f\r]*$`)

// yamlCppDouble is YAML::convert<double>::decode: the stream read above
// (an overflow to infinity fails, as libstdc++ sets failbit), else yaml-cpp's
// own spellings of infinity and NaN.
func yamlCppDouble(s string) (float64, bool) {
	if m := cppFloat.FindStringSubmatch(s); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err == nil || !math.IsInf(f, 0) {
			return f, true
		}
		return 0, false
	}
	switch s {
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return math.Inf(1), true
	case "-.inf", "-.Inf", "-.INF":
		return math.Inf(-1), true
	case ".nan", ".NaN", ".NAN":
		return math.NaN(), true
	}
	return 0, false
}

// yamlCppBool is YAML::convert<bool>::decode (yaml-cpp src/convert.cpp): the
// YAML 1.1 names y/n, yes/no, true/false, on/off, written all lower case, all
// upper case, or capitalized.
func yamlCppBool(s string) (value, ok bool) {
	if !flexibleCase(s) {
		return false, false
	}
	switch strings.ToLower(s) {
	case "y", "yes", "true", "on":
		return true, true
	case "n", "no", "false", "off":
		return false, true
	}
	return false, false
}

// flexibleCase is yaml-cpp's IsFlexibleCase: lowercase, UPPERCASE or
// Capitalized (ASCII letters only count as cased).
func flexibleCase(s string) bool {
	if s == "" {
		return true
	}
	all := func(s string, f func(byte) bool) bool {
		for i := 0; i < len(s); i++ {
			if !f(s[i]) {
				return false
			}
		}
		return true
	}
	lower := func(c byte) bool { return c >= 'a' && c <= 'z' }
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	if all(s, lower) {
		return true
	}
	return upper(s[0]) && (all(s[1:], lower) || all(s[1:], upper))
}
