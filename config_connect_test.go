package main

import (
	"strings"
	"testing"
	"time"
)

func TestConnectTimeoutConfig(t *testing.T) {
	cfg, _, err := parseConfig("")
	if err != nil || cfg.ConnectTimeout != 3*time.Second {
		t.Errorf("default connectTimeout = %v, %v; want 3s", cfg.ConnectTimeout, err)
	}
	cfg, _, err = parseConfig(`{"connectTimeout":500}`)
	if err != nil || cfg.ConnectTimeout != 500*time.Millisecond {
		t.Errorf("connectTimeout 500 = %v, %v; want 500ms", cfg.ConnectTimeout, err)
	}
	for _, bad := range []string{`0`, `60001`, `"3000"`, `1.5`} {
		if _, _, err := parseConfig(`{"connectTimeout":` + bad + `}`); err == nil || !strings.Contains(err.Error(), "connectTimeout") {
			t.Errorf("connectTimeout %s: %v, want an error naming the key", bad, err)
		}
	}
}
