package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/falco-docker/plugin/stream"
)

// config is the plugin's init_config, with defaults applied.
type config struct {
	FlushInterval  time.Duration // how long next_batch waits for a first event
	BatchSize      int           // events per batch (slab slots)
	EventSize      int           // bytes per slab slot; larger events still pass whole
	MaxEventSize   int           // events beyond this are skipped and counted
	QueueSize      int           // lines buffered between the readers and next_batch
	QueueBytes     int           // bytes those lines may hold together (one larger line passes alone)
	Hosts          []string      // Docker endpoints; [""] = the docker CLI's resolution
	APIVersion     string        // pin the API version; "" = negotiate
	TLS            tlsConfig     // client certificates for tcp:// endpoints
	Filters        string        // the daemon's filters argument (JSON), "" for none
	SwarmDedupe    bool          // with several hosts, deliver each Swarm-scoped event once
	ReconnectMin   time.Duration // first wait between probes of a tcp daemon that is away, and after a failed resume
	ReconnectMax   time.Duration // cap of those doubling waits (unix sockets are probed every 10 ms)
	ResumeWindow   time.Duration // a resume replays from this long before the newest event
	ConnectTimeout time.Duration // bounds each dial, TLS handshake, ping, info and subscribe
	PprofAddr      string        // loopback address serving net/http/pprof, "" = off
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
		EventSize:     defaultEventSize,
		MaxEventSize:  64 << 20,
		QueueSize:     4096,
		QueueBytes:    defaultQueueBytes,
		SwarmDedupe:   true,
		Hosts:         []string{""},
		ReconnectMin:  100 * time.Millisecond,
		ReconnectMax:  time.Second,
		ResumeWindow:  time.Second,

		ConnectTimeout: stream.DefaultConnectTimeout,
	}
}

// defaultEventSize is a page: every slot of sdk.NewEventWriters is its own
// calloc, and glibc clears a calloc'd chunk that comes from an arena (slots
// below its 128 KiB mmap threshold do), so the whole slab, batchSize x
// eventSize, is written once when it is allocated whatever is released
// after: at 64 KiB that was 16 MiB in the process's peak RSS, one open in
// two (BENCHMARKS.md, "Process memory"). At 4 KiB a full slab is 1 MiB
// (slabgrowth.go: it grows to batchSize slots as batches fill it), and holds
// the events of ordinary containers (median ~370 B, p95 ~700 B); larger
// ones, labelled containers' 5 KB events, pass whole through a one-event
// batch (docker.events_oversized).
const defaultEventSize = 4 << 10

// defaultQueueBytes bounds the queue's memory. Docker events are ~370 B at
// the median and ~700 B at p95, so 4096 lines (queueSize) of ordinary events
// hold under 3 MiB with their overhead and the line bound binds first; 8 MiB
// binds only for larger events: ~1600 labelled containers' 5 KB events
// (more than the 1024 events a daemon buffers for a subscriber before it
// drops it), ~120 events with a 64 KB label, instead of 4096 x maxEventSize.
const defaultQueueBytes = 8 << 20

// configSchema is returned by plugin_get_init_schema; libsinsp validates
// init_config against it (valijson, draft-04) before plugin_init, and
// parseConfig enforces the same rules for hosts that do not.
//
// The types accept everything Falco produces from falco.yaml
// (falcosecurity/falco userspace/falco/configuration.h and yaml_helper.h):
// null for init_config: {} and for a key without a value, numbers and
// booleans for any scalar that reads as one even when quoted. A type array
// is draft-04 and valijson supports it (tristanpenman/valijson
// include/valijson/schema_parser.hpp, makeTypeConstraint). The first type of
// each key is the one documented in README.md.
const configSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": ["object", "null"],
  "additionalProperties": true,
  "properties": {
    "flushInterval": {"type": ["integer", "null"], "minimum": 1, "maximum": 60000, "description": "Milliseconds next_batch waits for a first event before returning a timeout to Falco; events that are there are handed over at once (default 30)"},
    "flushinterval": {"type": ["integer", "null"], "minimum": 1, "maximum": 60000, "description": "Deprecated spelling of flushInterval, from the original docker plugin's documentation; accepted with a warning"},
    "batchSize": {"type": ["integer", "null"], "minimum": 1, "maximum": 65536, "description": "Events per batch handed to Falco (default 256)"},
    "eventSize": {"type": ["integer", "null"], "minimum": 1024, "maximum": 67108864, "description": "Bytes reserved per event in the batch; larger events are still delivered whole (default 4096)"},
    "maxEventSize": {"type": ["integer", "null"], "minimum": 1024, "maximum": 1073741824, "description": "Events larger than this are skipped and counted (default 67108864)"},
    "queueSize": {"type": ["integer", "null"], "minimum": 1, "maximum": 1048576, "description": "Events buffered between the Docker readers and Falco; beyond it events are counted as overflow (default 4096)"},
    "queueBytes": {"type": ["integer", "null"], "minimum": 65536, "maximum": 4294967296, "description": "Bytes the buffered events may hold together; beyond it events are counted as overflow, like a full queue; an event larger than this passes alone (default 8388608: 4096 events of p95 size fit with room to spare, ~1600 labelled containers' 5 KB events)"},
    "host": {"type": ["string", "number", "boolean", "null"], "description": "Docker endpoint, e.g. unix:///var/run/docker.sock or tcp://host:2376 (default: DOCKER_HOST, then the local socket)"},
    "hosts": {"type": ["array", "null"], "items": {"type": ["string", "number", "boolean"]}, "description": "Several Docker endpoints streamed at once into one event stream (e.g. every node of a Swarm cluster); replaces host"},
    "apiVersion": {"type": ["string", "number", "null"], "description": "Docker API version to use, e.g. 1.41 (default: DOCKER_API_VERSION, else negotiated with the daemon); as a number, a one-digit minor means two digits: 1.4 is 1.40"},
    "tls": {"type": ["object", "null"], "description": "TLS client for tcp:// endpoints only: ca, cert, key (file paths), verify (default true); without it, TLS is on as the docker CLI has it (DOCKER_TLS_VERIFY or DOCKER_TLS, files from DOCKER_CERT_PATH)", "properties": {
      "ca": {"type": ["string", "number", "boolean", "null"], "description": "CA certificate file"},
      "cert": {"type": ["string", "number", "boolean", "null"], "description": "Client certificate file"},
      "key": {"type": ["string", "number", "boolean", "null"], "description": "Client key file"},
      "verify": {"type": ["boolean", "null"], "description": "Verify the daemon's certificate (default true)"}
    }},
    "filters": {"type": ["object", "null"], "additionalProperties": {"type": ["array", "null"], "items": {"type": ["string", "number", "boolean"]}}, "description": "Daemon-side filters, as docker events --filter: {\"type\": [\"container\"], \"event\": [\"die\"], \"label\": [\"team=blue\"]}"},
    "reconnectMin": {"type": ["integer", "null"], "minimum": 1, "maximum": 600000, "description": "Milliseconds between the first probes of a tcp endpoint whose daemon is away, and before retrying a resume that failed on an endpoint that answers; unix sockets are probed every 10 ms (default 100)"},
    "reconnectMax": {"type": ["integer", "null"], "minimum": 1, "maximum": 600000, "description": "Cap of the doubling wait between probes of a tcp endpoint whose daemon is away (the most a returning tcp daemon waits for the plugin) and between failed resumes, milliseconds (default 1000)"},
    "connectTimeout": {"type": ["integer", "null"], "minimum": 1, "maximum": 60000, "description": "Milliseconds each step of reaching a daemon may take (dial and TLS handshake, ping, info, the events request up to its response headers) before it fails; plugin_open waits at most this long for the daemons (default 3000)"},
    "resumeWindow": {"type": ["integer", "null"], "minimum": 0, "maximum": 600000, "description": "On reconnect, replay from this many milliseconds (daemon clock) before the last event received, dropping duplicates (default 1000)"},
    "swarmDedupe": {"type": ["boolean", "null"], "description": "With several hosts, deliver each Swarm-scoped event (node, service, secret, config, swarm network) once instead of once per manager; two identical changes are still both delivered (default true)"},
    "pprofAddr": {"type": ["string", "number", "boolean", "null"], "description": "Loopback address (e.g. 127.0.0.1:6060) serving net/http/pprof for profiling; empty = off"}
  }
}`

// configKeyNames are configSchema's top-level properties in the schema's
// order, which unknown-key suggestions prefer on a tie, without the
// deprecated alias; tlsKeyNames are those of its tls object. Read from the
// schema, so that a key is declared once.
var configKeyNames, tlsKeyNames = schemaKeyNames()

func schemaKeyNames() (top, tls []string) {
	it := jsoniter.ParseString(jsoniter.ConfigDefault, configSchema)
	for field := it.ReadObject(); field != ""; field = it.ReadObject() {
		if field != "properties" {
			it.Skip()
			continue
		}
		for key := it.ReadObject(); key != ""; key = it.ReadObject() {
			if key != flushIntervalAlias {
				top = append(top, key)
			}
			if key != "tls" {
				it.Skip()
				continue
			}
			for member := it.ReadObject(); member != ""; member = it.ReadObject() {
				if member != "properties" {
					it.Skip()
					continue
				}
				for k := it.ReadObject(); k != ""; k = it.ReadObject() {
					tls = append(tls, k)
					it.Skip()
				}
			}
		}
	}
	if it.Error != nil {
		panic(fmt.Sprintf("configSchema: %v", it.Error))
	}
	return top, tls
}

// flushIntervalAlias is how the original docker plugin documented its only
// key (Issif/docker-plugin README.md: init_config: '{"flushinterval": 1}'; its
// pkg/docker.go declares json:"flushInterval", milliseconds, default 30, and
// reads it with encoding/json, whose key match ignores case).
const flushIntervalAlias = "flushinterval"

// parseConfig reads init_config as libsinsp hands it to plugin_init. Empty,
// blank and null mean all defaults. Unknown keys are not an error: each
// yields one warning naming it and the nearest known key. A known key of the
// wrong type or out of range fails with a message naming the key.
func parseConfig(raw string) (config, []string, error) {
	cfg := defaultConfig()
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return cfg, nil, nil
	}
	var keys configKeys
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal([]byte(raw), &keys); err != nil || keys == nil {
		return cfg, nil, fmt.Errorf("init_config: not a JSON object: %s", raw)
	}
	names := make([]string, 0, len(keys))
	for name := range keys {
		if name != flushIntervalAlias {
			names = append(names, name)
		}
	}
	warnings := unknownKeyWarnings("", names, configKeyNames)
	if _, ok := keys[flushIntervalAlias]; ok {
		warnings = append(warnings, fmt.Sprintf("init_config: %q is deprecated (the original docker plugin's spelling): use %q", flushIntervalAlias, "flushInterval"))
	}
	keys.dropNulls()
	if v, ok := keys[flushIntervalAlias]; ok {
		if _, both := keys["flushInterval"]; both {
			return cfg, warnings, fmt.Errorf("init_config: give %q or its deprecated spelling %q, not both", "flushInterval", flushIntervalAlias)
		}
		keys["flushInterval"] = v
		delete(keys, flushIntervalAlias)
	}
	err := cfg.apply(keys, &warnings)
	return cfg, warnings, err
}

// apply decodes the known keys into cfg and checks how they combine.
func (cfg *config) apply(keys configKeys, warnings *[]string) error {
	var hostsErr, filtersErr, tlsErr error
	var hostName string
	var hosts []string
	var filters map[string][]string
	var tls *tlsConfig
	if v, ok := keys["hosts"]; ok {
		hosts, hostsErr = texts("hosts", v)
	}
	if v, ok := keys["filters"]; ok {
		filters, filtersErr = decodeFilters(v)
	}
	if v, ok := keys["tls"]; ok {
		tls, tlsErr = decodeTLS(v, warnings)
	}
	for _, err := range []error{
		keys.millis("flushInterval", &cfg.FlushInterval, 1, 60000),
		keys.integer("batchSize", &cfg.BatchSize, 1, 65536),
		keys.integer("eventSize", &cfg.EventSize, 1024, 64<<20),
		keys.integer("maxEventSize", &cfg.MaxEventSize, 1024, 1<<30),
		keys.integer("queueSize", &cfg.QueueSize, 1, 1<<20),
		keys.integer("queueBytes", &cfg.QueueBytes, 64<<10, 1<<32),
		keys.millis("reconnectMin", &cfg.ReconnectMin, 1, 600000),
		keys.millis("reconnectMax", &cfg.ReconnectMax, 1, 600000),
		keys.millis("resumeWindow", &cfg.ResumeWindow, 0, 600000),
		keys.millis("connectTimeout", &cfg.ConnectTimeout, 1, int(stream.MaxConnectTimeout/time.Millisecond)),
		keys.text("host", &hostName),
		hostsErr,
		keys.apiVersion(&cfg.APIVersion),
		keys.boolean("swarmDedupe", &cfg.SwarmDedupe),
		keys.text("pprofAddr", &cfg.PprofAddr),
		filtersErr,
		tlsErr,
	} {
		if err != nil {
			return err
		}
	}
	if cfg.MaxEventSize < cfg.EventSize {
		return fmt.Errorf("init_config: %q (%d) must not be smaller than %q (%d)", "maxEventSize", cfg.MaxEventSize, "eventSize", cfg.EventSize)
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		return fmt.Errorf("init_config: %q must not be smaller than %q", "reconnectMax", "reconnectMin")
	}
	switch {
	case len(hosts) > 0 && hostName != "":
		return fmt.Errorf("init_config: give %q or %q, not both", "host", "hosts")
	case len(hosts) > 0:
		seen := map[string]bool{}
		for _, h := range hosts {
			if h == "" || seen[h] {
				return fmt.Errorf("init_config: %q must list distinct, non-empty endpoints, got %q", "hosts", hosts)
			}
			seen[h] = true
		}
		cfg.Hosts = hosts
	case hostName != "":
		cfg.Hosts = []string{hostName}
	}
	if tls != nil {
		cfg.TLS = *tls
	}
	if len(filters) > 0 {
		cfg.Filters = filtersArg(filters)
	}
	if cfg.PprofAddr != "" {
		if err := checkLoopback(cfg.PprofAddr); err != nil {
			return fmt.Errorf("init_config: %q: %w", "pprofAddr", err)
		}
	}
	return nil
}

// decodeFilters reads {"name": [values]}; a name set to null is no filter.
func decodeFilters(v []byte) (map[string][]string, error) {
	var raw map[string]jsoniter.RawMessage
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(v, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("init_config: %q must be an object of string lists, e.g. {\"type\":[\"container\"]}, got %s", "filters", v)
	}
	filters := make(map[string][]string, len(raw))
	for name, values := range raw {
		if isJSONNull(values) {
			continue
		}
		list, err := texts("filters", values)
		if err != nil {
			return nil, fmt.Errorf("init_config: %q must be an object of string lists, e.g. {\"type\":[\"container\"]}, got %s", "filters", v)
		}
		filters[name] = list
	}
	return filters, nil
}

// decodeTLS reads the tls object. Verification is on unless verify is false,
// and then a CA is required.
func decodeTLS(v []byte, warnings *[]string) (*tlsConfig, error) {
	var raw configKeys
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(v, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("init_config: %q must be an object {\"ca\",\"cert\",\"key\": file paths, \"verify\": boolean}, got %s", "tls", v)
	}
	// Named as tls.<key>, so that errors and warnings say where they are.
	keys := make(configKeys, len(raw))
	names := make([]string, 0, len(raw))
	for name, value := range raw {
		keys["tls."+name] = value
		names = append(names, name)
	}
	*warnings = append(*warnings, unknownKeyWarnings("tls.", names, tlsKeyNames)...)
	keys.dropNulls()
	tls := &tlsConfig{Enabled: true, Verify: true}
	for _, err := range []error{
		keys.text("tls.ca", &tls.CA),
		keys.text("tls.cert", &tls.Cert),
		keys.text("tls.key", &tls.Key),
		keys.boolean("tls.verify", &tls.Verify),
	} {
		if err != nil {
			return nil, err
		}
	}
	if (tls.Cert == "") != (tls.Key == "") {
		return nil, fmt.Errorf("init_config: %q needs both %q and %q, or neither", "tls", "cert", "key")
	}
	if tls.Verify && tls.CA == "" {
		return nil, fmt.Errorf("init_config: %q: %q is required to verify the daemon (or set %q to false)", "tls", "ca", "verify")
	}
	return tls, nil
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
