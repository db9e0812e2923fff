package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// config is the plugin's init_config, with defaults applied.
type config struct {
	FlushInterval   time.Duration // how long a partial batch may wait
	BatchSize       int           // events per batch (slab slots)
	EventSize       int           // bytes per slab slot; larger events still pass whole
	MaxEventSize    int           // events beyond this are skipped and counted
	QueueSize       int           // lines buffered between the readers and next_batch
	Host            string        // Docker endpoint; "" = the docker CLI's resolution
	APIVersion      string        // pin the API version; "" = negotiate
	AsyncExtraction bool          // the SDK's async extraction worker
}

func defaultConfig() config {
	return config{
		FlushInterval: 30 * time.Millisecond,
		BatchSize:     256,
		EventSize:     64 << 10,
		MaxEventSize:  64 << 20,
		QueueSize:     4096,
	}
}

// configSchema is returned by plugin_get_init_schema; Falco validates
// init_config against it, and parseConfig enforces the same bounds for hosts
// that do not.
const configSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "additionalProperties": true,
  "properties": {
    "flushInterval": {"type": "integer", "minimum": 1, "maximum": 60000, "description": "Milliseconds a partial batch may wait for more events (default 30)"},
    "batchSize": {"type": "integer", "minimum": 1, "maximum": 65536, "description": "Events per batch handed to Falco (default 256)"},
    "eventSize": {"type": "integer", "minimum": 1024, "maximum": 67108864, "description": "Bytes reserved per event in the batch; larger events are still delivered whole (default 65536)"},
    "maxEventSize": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "description": "Events larger than this are skipped and counted (default 67108864)"},
    "queueSize": {"type": "integer", "minimum": 1, "maximum": 1048576, "description": "Events buffered between the Docker readers and Falco (default 4096)"},
    "host": {"type": "string", "description": "Docker endpoint, e.g. unix:///var/run/docker.sock or tcp://host:2376 (default: DOCKER_HOST, then the local socket)"},
    "apiVersion": {"type": "string", "description": "Docker API version to use, e.g. 1.41 (default: negotiated with the daemon)"},
    "asyncExtraction": {"type": "boolean", "description": "Use the SDK's asynchronous extraction worker (default false: measured slower)"}
  }
}`

// parseConfig reads init_config. Unknown keys are tolerated; a known key of
// the wrong type or out of range fails with a message naming the key.
func parseConfig(raw string) (config, error) {
	cfg := defaultConfig()
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return cfg, nil
	}
	var keys map[string]jsoniter.RawMessage
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal([]byte(raw), &keys); err != nil {
		return cfg, fmt.Errorf("init_config: not a JSON object: %w", err)
	}
	var flushMs int
	ints := []struct {
		key      string
		dst      *int
		min, max int
	}{
		{"flushInterval", &flushMs, 1, 60000},
		{"batchSize", &cfg.BatchSize, 1, 65536},
		{"eventSize", &cfg.EventSize, 1024, 64 << 20},
		{"maxEventSize", &cfg.MaxEventSize, 1024, 1 << 30},
		{"queueSize", &cfg.QueueSize, 1, 1 << 20},
	}
	for _, k := range ints {
		v, ok := keys[k.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < k.min || n > k.max {
			return cfg, fmt.Errorf("init_config: %q must be an integer from %d to %d, got %s", k.key, k.min, k.max, v)
		}
		*k.dst = n
	}
	if _, ok := keys["flushInterval"]; ok {
		cfg.FlushInterval = time.Duration(flushMs) * time.Millisecond
	}
	for key, dst := range map[string]*string{"host": &cfg.Host, "apiVersion": &cfg.APIVersion} {
		if v, ok := keys[key]; ok {
			if err := jsoniter.Unmarshal(v, dst); err != nil {
				return cfg, fmt.Errorf("init_config: %q must be a string, got %s", key, v)
			}
		}
	}
	if v, ok := keys["asyncExtraction"]; ok {
		if err := jsoniter.Unmarshal(v, &cfg.AsyncExtraction); err != nil || (string(v) != "true" && string(v) != "false") {
			return cfg, fmt.Errorf("init_config: %q must be a boolean, got %s", "asyncExtraction", v)
		}
	}
	if cfg.MaxEventSize < cfg.EventSize {
		return cfg, fmt.Errorf("init_config: %q (%d) must not be smaller than %q (%d)", "maxEventSize", cfg.MaxEventSize, "eventSize", cfg.EventSize)
	}
	return cfg, nil
}
