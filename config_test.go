package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	for _, raw := range []string{"", "  ", "{}", `{"someOtherKey": [1, 2]}`} {
		cfg, err := parseConfig(raw)
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", raw, err)
		}
		if cfg != defaultConfig() {
			t.Errorf("parseConfig(%q) = %+v, want defaults", raw, cfg)
		}
	}
	d := defaultConfig()
	if d.FlushInterval != 30*time.Millisecond || d.BatchSize != 256 || d.EventSize != 64<<10 {
		t.Errorf("defaults = %+v", d)
	}
}

func TestConfigValues(t *testing.T) {
	cfg, err := parseConfig(`{"flushInterval": 5, "batchSize": 64, "eventSize": 4096, "maxEventSize": 8192, "queueSize": 10, "host": "tcp://127.0.0.1:2376", "apiVersion": "1.41", "asyncExtraction": true}`)
	if err != nil {
		t.Fatal(err)
	}
	want := config{FlushInterval: 5 * time.Millisecond, BatchSize: 64, EventSize: 4096, MaxEventSize: 8192, QueueSize: 10, Host: "tcp://127.0.0.1:2376", APIVersion: "1.41", AsyncExtraction: true}
	if cfg != want {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for raw, key := range map[string]string{
		`{"batchSize": "x"}`:                         "batchSize",
		`{"batchSize": 0}`:                           "batchSize",
		`{"batchSize": 1.5}`:                         "batchSize",
		`{"flushInterval": -1}`:                      "flushInterval",
		`{"eventSize": 10}`:                          "eventSize",
		`{"queueSize": true}`:                        "queueSize",
		`{"host": 5}`:                                "host",
		`{"apiVersion": []}`:                         "apiVersion",
		`{"asyncExtraction": "yes"}`:                 "asyncExtraction",
		`{"eventSize": 65536, "maxEventSize": 2048}`: "maxEventSize",
	} {
		_, err := parseConfig(raw)
		if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("parseConfig(%s) = %v, want an error naming %q", raw, err, key)
		}
	}
	if _, err := parseConfig(`[1]`); err == nil || !strings.Contains(err.Error(), "init_config") {
		t.Errorf("non-object config: %v", err)
	}
}
