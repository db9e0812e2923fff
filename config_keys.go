package main

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// configKeys holds init_config's members undecoded, so that each is decoded
// on its own and every error names its key.
//
// Values come as Falco makes them from falco.yaml (falcosecurity/falco
// userspace/falco/yaml_helper.h, YAML::convert<nlohmann::json>): every YAML
// scalar that reads as a number or a boolean arrives as one, quoted or not,
// and a key without a value (or with {} or []) arrives as null. So a key
// whose value is a string also takes a number or a boolean as its JSON
// text, and null everywhere means "not set".
type configKeys map[string]jsoniter.RawMessage

// jsonNumber is the JSON number grammar (RFC 8259).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// isJSONNull: json-iterator leaves a RawMessage empty for a null value,
// where encoding/json keeps the text "null".
func isJSONNull(v []byte) bool {
	t := bytes.TrimSpace(v)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// dropNulls removes the members set to null: they keep their defaults.
func (k configKeys) dropNulls() {
	for key, v := range k {
		if isJSONNull(v) {
			delete(k, key)
		}
	}
}

// integer reads a whole number in [min, max]. An integral double such as
// 1000.0 is accepted: that is how Falco writes YAML's 1e3, and libsinsp's
// schema check (valijson over JsonCpp, isIntegral) counts it as an integer.
func (k configKeys) integer(key string, dst *int, min, max int) error {
	v, ok := k[key]
	if !ok {
		return nil
	}
	n, ok := wholeNumber(v)
	if !ok || n < float64(min) || n > float64(max) {
		return fmt.Errorf("init_config: %q must be an integer from %d to %d, got %s", key, min, max, v)
	}
	*dst = int(n)
	return nil
}

func wholeNumber(v []byte) (float64, bool) {
	s := string(bytes.TrimSpace(v))
	if !jsonNumber.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && f == float64(int64(f))
}

func (k configKeys) millis(key string, dst *time.Duration, min, max int) error {
	ms := -1
	if err := k.integer(key, &ms, min, max); err != nil || ms < 0 {
		return err
	}
	*dst = time.Duration(ms) * time.Millisecond
	return nil
}

func (k configKeys) boolean(key string, dst *bool) error {
	v, ok := k[key]
	if !ok {
		return nil
	}
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("init_config: %q must be a boolean, got %s", key, v)
	}
	return nil
}

// text reads a string-valued key: a string, or a number or boolean as the
// JSON text Falco wrote for it (YAML's "1e3" arrives as 1000.0, "yes" as
// true: the spelling in falco.yaml is lost before the plugin sees it).
func (k configKeys) text(key string, dst *string) error {
	v, ok := k[key]
	if !ok {
		return nil
	}
	s, ok := jsonText(v)
	if !ok {
		return fmt.Errorf("init_config: %q must be a string, got %s", key, v)
	}
	*dst = s
	return nil
}

// jsonText is the text of a JSON string, number or boolean.
func jsonText(v []byte) (string, bool) {
	t := bytes.TrimSpace(v)
	switch {
	case len(t) > 0 && t[0] == '"':
		var s string
		err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(t, &s)
		return s, err == nil
	case string(t) == "true" || string(t) == "false" || jsonNumber.Match(t):
		return string(t), true
	}
	return "", false
}

// texts reads a list of string-valued items (hosts, filter values).
func texts(key string, v []byte) ([]string, error) {
	var items []jsoniter.RawMessage
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(v, &items); err != nil || items == nil {
		return nil, fmt.Errorf("init_config: %q must be a list of strings, got %s", key, v)
	}
	out := make([]string, len(items))
	for i, item := range items {
		s, ok := jsonText(item)
		if !ok {
			return nil, fmt.Errorf("init_config: %q must be a list of strings, got %s", key, v)
		}
		out[i] = s
	}
	return out, nil
}

// dockerAPIVersion is a Docker API version written as a number: YAML
// "apiVersion: 1.40" reaches the plugin as the number 1.4, because Falco
// converts every scalar that reads as a number. Docker API versions have had
// two-digit minors since 1.12, so a one-digit minor gets its zero back:
// 1.4 → "1.40", 1.5 → "1.50", 1.41 → "1.41".
var dockerAPIVersion = regexp.MustCompile(`^([0-9]+)\.([0-9]{1,2})$`)

func (k configKeys) apiVersion(dst *string) error {
	v, ok := k["apiVersion"]
	if !ok {
		return nil
	}
	t := bytes.TrimSpace(v)
	if len(t) > 0 && t[0] == '"' {
		return k.text("apiVersion", dst)
	}
	m := dockerAPIVersion.FindSubmatch(t)
	if m == nil {
		return fmt.Errorf("init_config: %q must be a Docker API version such as \"1.41\", got %s", "apiVersion", v)
	}
	minor := string(m[2])
	if len(minor) == 1 {
		minor += "0"
	}
	*dst = string(m[1]) + "." + minor
	return nil
}

// unknownKeyWarnings names each key that is not in known, with the known key
// nearest to it (case-insensitive edit distance): a misspelt key is ignored,
// so the warning is all that tells the user their setting did not apply.
func unknownKeyWarnings(prefix string, keys []string, known []string) []string {
	sort.Strings(keys)
	var warnings []string
	for _, key := range keys {
		if contains(known, key) {
			continue
		}
		near, dist := nearestKey(key, known)
		if dist <= 2+len(key)/4 {
			warnings = append(warnings, fmt.Sprintf("init_config: unknown key %q ignored; did you mean %q?", prefix+key, prefix+near))
		} else {
			warnings = append(warnings, fmt.Sprintf("init_config: unknown key %q ignored (the nearest known key is %q)", prefix+key, prefix+near))
		}
	}
	return warnings
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func nearestKey(key string, known []string) (string, int) {
	best, bestDist := "", -1
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best, bestDist
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
