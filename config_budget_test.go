package main

import (
	"strings"
	"testing"
)

func TestConfigQueueBytesAndSwarmDedupe(t *testing.T) {
	d := defaultConfig()
	if d.QueueBytes != 8<<20 || !d.SwarmDedupe {
		t.Errorf("defaults: queueBytes %d, swarmDedupe %v; want 8 MiB and true", d.QueueBytes, d.SwarmDedupe)
	}
	cfg, warnings, err := parseConfig(`{"queueBytes": 1048576, "swarmDedupe": false}`)
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	if cfg.QueueBytes != 1<<20 || cfg.SwarmDedupe {
		t.Errorf("got queueBytes %d, swarmDedupe %v", cfg.QueueBytes, cfg.SwarmDedupe)
	}
	for raw, key := range map[string]string{
		`{"queueBytes": 1024}`:    "queueBytes",
		`{"queueBytes": "8MiB"}`:  "queueBytes",
		`{"swarmDedupe": "off"}`:  "swarmDedupe",
		`{"swarmDedupe": [true]}`: "swarmDedupe",
	} {
		if _, _, err := parseConfig(raw); err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("parseConfig(%s) = %v, want an error naming %q", raw, err, key)
		}
	}
}
