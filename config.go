package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// config is the plugin's init_config, with defaults applied.
type config struct {
	FlushInterval time.Duration // how long next_batch waits for a first event
	BatchSize     int           // events per batch (slab slots)
	EventSize     int           // bytes per slab slot; larger events still pass whole
	MaxEventSize  int           // events beyond this are skipped and counted
	QueueSize     int           // lines buffered between the readers and next_batch
	Hosts         []string      // Docker endpoints; [""] = the docker CLI's resolution
	APIVersion    string        // pin the API version; "" = negotiate
	TLS           tlsConfig     // client certificates for tcp:// endpoints
	Filters       string        // the daemon's filters argument (JSON), "" for none
	ReconnectMin  time.Duration // first wait before reconnecting to a daemon
	ReconnectMax  time.Duration // cap of the doubling reconnect wait
	ResumeWindow  time.Duration // a resume replays from this long before the newest event
	PprofAddr     string        // loopback address serving net/http/pprof, "" = off
}

// tlsConfig names the files of a TLS client; their contents never appear in
// errors or logs.
type tlsConfig struct {
	CA, Cert, Key string
	Verify        bool
	Enabled       bool // a tls block was given
}

func defaultConfig() config {
	return config{
		FlushInterval: 30 * time.Millisecond,
		BatchSize:     256,
		EventSize:     64 << 10,
		MaxEventSize:  64 << 20,
		QueueSize:     4096,
		Hosts:         []string{""},
		ReconnectMin:  100 * time.Millisecond,
		ReconnectMax:  5 * time.Second,
		ResumeWindow:  time.Second,
	}
}

// configSchema is returned by plugin_get_init_schema; Falco validates
// init_config against it, and parseConfig enforces the same rules for hosts
// that do not.
const configSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "additionalProperties": true,
  "properties": {
    "flushInterval": {"type": "integer", "minimum": 1, "maximum": 60000, "description": "Milliseconds next_batch waits for a first event before returning a timeout to Falco; events that are there are handed over at once (default 30)"},
    "batchSize": {"type": "integer", "minimum": 1, "maximum": 65536, "description": "Events per batch handed to Falco (default 256)"},
    "eventSize": {"type": "integer", "minimum": 1024, "maximum": 67108864, "description": "Bytes reserved per event in the batch; larger events are still delivered whole (default 65536)"},
    "maxEventSize": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "description": "Events larger than this are skipped and counted (default 67108864)"},
    "queueSize": {"type": "integer", "minimum": 1, "maximum": 1048576, "description": "Events buffered between the Docker readers and Falco; beyond it events are counted as overflow (default 4096)"},
    "host": {"type": "string", "description": "Docker endpoint, e.g. unix:///var/run/docker.sock or tcp://host:2376 (default: DOCKER_HOST, then the local socket)"},
    "hosts": {"type": "array", "items": {"type": "string"}, "description": "Several Docker endpoints streamed at once into one event stream (e.g. every node of a Swarm cluster); replaces host"},
    "apiVersion": {"type": "string", "description": "Docker API version to use, e.g. 1.41 (default: DOCKER_API_VERSION, else negotiated with the daemon)"},
    "tls": {"type": "object", "description": "TLS client for tcp:// endpoints (default: DOCKER_CERT_PATH and DOCKER_TLS_VERIFY)", "properties": {
      "ca": {"type": "string", "description": "CA certificate file"},
      "cert": {"type": "string", "description": "Client certificate file"},
      "key": {"type": "string", "description": "Client key file"},
      "verify": {"type": "boolean", "description": "Verify the daemon's certificate (default true)"}
    }},
    "filters": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}, "description": "Daemon-side filters, as docker events --filter: {\"type\": [\"container\"], \"event\": [\"die\"], \"label\": [\"team=blue\"]}"},
    "reconnectMin": {"type": "integer", "minimum": 1, "maximum": 600000, "description": "Milliseconds before the first reconnect to a daemon (default 100)"},
    "reconnectMax": {"type": "integer", "minimum": 1, "maximum": 600000, "description": "Cap of the doubling reconnect wait, milliseconds (default 5000)"},
    "resumeWindow": {"type": "integer", "minimum": 0, "maximum": 600000, "description": "On reconnect, replay from this many milliseconds before the newest event delivered, dropping duplicates (default 1000)"},
    "pprofAddr": {"type": "string", "description": "Loopback address (e.g. 127.0.0.1:6060) serving net/http/pprof for profiling; empty = off"}
  }
}`

// configKeys decodes init_config's top-level keys one at a time, so that
// every error names its key.
type configKeys map[string]jsoniter.RawMessage

func (k configKeys) integer(key string, dst *int, min, max int) error {
	v, ok := k[key]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < min || n > max {
		return fmt.Errorf("init_config: %q must be an integer from %d to %d, got %s", key, min, max, v)
	}
	*dst = n
	return nil
}

func (k configKeys) millis(key string, dst *time.Duration, min, max int) error {
	ms := -1
	if err := k.integer(key, &ms, min, max); err != nil || ms < 0 {
		return err
	}
	*dst = time.Duration(ms) * time.Millisecond
	return nil
}

func (k configKeys) decode(key, want string, dst any) error {
	v, ok := k[key]
	if !ok {
		return nil
	}
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("init_config: %q must be %s, got %s", key, want, v)
	}
	return nil
}

// parseConfig reads init_config. Unknown keys are tolerated; a known key of
// the wrong type or out of range fails with a message naming the key.
func parseConfig(raw string) (config, error) {
	cfg := defaultConfig()
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return cfg, nil
	}
	var keys configKeys
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal([]byte(raw), &keys); err != nil || keys == nil {
		return cfg, fmt.Errorf("init_config: not a JSON object: %s", raw)
	}
	var host string
	var hosts []string
	var filters map[string][]string
	var tls *struct {
		CA     *string `json:"ca"`
		Cert   *string `json:"cert"`
		Key    *string `json:"key"`
		Verify *bool   `json:"verify"`
	}
	for _, err := range []error{
		keys.millis("flushInterval", &cfg.FlushInterval, 1, 60000),
		keys.integer("batchSize", &cfg.BatchSize, 1, 65536),
		keys.integer("eventSize", &cfg.EventSize, 1024, 64<<20),
		keys.integer("maxEventSize", &cfg.MaxEventSize, 1024, 1<<30),
		keys.integer("queueSize", &cfg.QueueSize, 1, 1<<20),
		keys.millis("reconnectMin", &cfg.ReconnectMin, 1, 600000),
		keys.millis("reconnectMax", &cfg.ReconnectMax, 1, 600000),
		keys.millis("resumeWindow", &cfg.ResumeWindow, 0, 600000),
		keys.decode("host", "a string", &host),
		keys.decode("hosts", "a list of strings", &hosts),
		keys.decode("apiVersion", "a string", &cfg.APIVersion),
		keys.decode("pprofAddr", "a string", &cfg.PprofAddr),
		keys.decode("filters", `an object of string lists, e.g. {"type":["container"]}`, &filters),
		keys.decode("tls", `an object {"ca","cert","key": file paths, "verify": boolean}`, &tls),
	} {
		if err != nil {
			return cfg, err
		}
	}
	if cfg.MaxEventSize < cfg.EventSize {
		return cfg, fmt.Errorf("init_config: %q (%d) must not be smaller than %q (%d)", "maxEventSize", cfg.MaxEventSize, "eventSize", cfg.EventSize)
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		return cfg, fmt.Errorf("init_config: %q must not be smaller than %q", "reconnectMax", "reconnectMin")
	}
	switch {
	case len(hosts) > 0 && host != "":
		return cfg, fmt.Errorf("init_config: give %q or %q, not both", "host", "hosts")
	case len(hosts) > 0:
		seen := map[string]bool{}
		for _, h := range hosts {
			if h == "" || seen[h] {
				return cfg, fmt.Errorf("init_config: %q must list distinct, non-empty endpoints, got %q", "hosts", hosts)
			}
			seen[h] = true
		}
		cfg.Hosts = hosts
	case host != "":
		cfg.Hosts = []string{host}
	}
	if tls != nil {
		cfg.TLS = tlsConfig{Enabled: true, Verify: true}
		for _, f := range []struct {
			name string
			src  *string
			dst  *string
		}{{"ca", tls.CA, &cfg.TLS.CA}, {"cert", tls.Cert, &cfg.TLS.Cert}, {"key", tls.Key, &cfg.TLS.Key}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if tls.Verify != nil {
			cfg.TLS.Verify = *tls.Verify
		}
		if (cfg.TLS.Cert == "") != (cfg.TLS.Key == "") {
			return cfg, fmt.Errorf("init_config: %q needs both %q and %q, or neither", "tls", "cert", "key")
		}
		if cfg.TLS.Verify && cfg.TLS.CA == "" {
			return cfg, fmt.Errorf("init_config: %q: %q is required to verify the daemon (or set %q to false)", "tls", "ca", "verify")
		}
	}
	if len(filters) > 0 {
		cfg.Filters = filtersArg(filters)
	}
	if cfg.PprofAddr != "" {
		if err := checkLoopback(cfg.PprofAddr); err != nil {
			return cfg, fmt.Errorf("init_config: %q: %w", "pprofAddr", err)
		}
	}
	return cfg, nil
}

// filtersArg renders filters in the form every daemon version accepts:
// {"type":{"container":true}}.
func filtersArg(filters map[string][]string) string {
	names := make([]string, 0, len(filters))
	for name := range filters {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]map[string]bool, len(filters))
	for _, name := range names {
		out[name] = map[string]bool{}
		for _, v := range filters[name] {
			out[name][v] = true
		}
	}
	b, _ := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(out) // sorted keys
	return string(b)
}
