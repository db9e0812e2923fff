package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	for _, raw := range []string{"", "  ", "{}", "null", " null\n", `{"someOtherKey": [1, 2]}`} {
		cfg, _, err := parseConfig(raw)
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", raw, err)
		}
		if !reflect.DeepEqual(cfg, defaultConfig()) {
			t.Errorf("parseConfig(%q) = %+v, want defaults", raw, cfg)
		}
	}
	d := defaultConfig()
	if d.FlushInterval != 30*time.Millisecond || d.BatchSize != 256 || d.EventSize != 4<<10 {
		t.Errorf("defaults = %+v", d)
	}
}

func TestConfigValues(t *testing.T) {
	cfg, warnings, err := parseConfig(`{"flushInterval": 5, "batchSize": 64, "eventSize": 4096, "maxEventSize": 8192, "queueSize": 10, "host": "tcp://127.0.0.1:2376", "apiVersion": "1.41"}`)
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	want := defaultConfig()
	want.FlushInterval, want.BatchSize, want.EventSize, want.MaxEventSize, want.QueueSize = 5*time.Millisecond, 64, 4096, 8192, 10
	want.Hosts, want.APIVersion = []string{"tcp://127.0.0.1:2376"}, "1.41"
	if !reflect.DeepEqual(cfg, want) {
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
		`{"host": {"a": 1}}`:                         "host",
		`{"apiVersion": []}`:                         "apiVersion",
		`{"eventSize": 65536, "maxEventSize": 2048}`: "maxEventSize",
	} {
		_, _, err := parseConfig(raw)
		if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("parseConfig(%s) = %v, want an error naming %q", raw, err, key)
		}
	}
	if _, _, err := parseConfig(`[1]`); err == nil || !strings.Contains(err.Error(), "init_config") {
		t.Errorf("non-object config: %v", err)
	}
}

func TestConfigEndpointsTLSFilters(t *testing.T) {
	cfg, _, err := parseConfig(`{"hosts":["tcp://10.0.0.1:2376","tcp://10.0.0.2:2376"],"tls":{"ca":"/c/ca.pem","cert":"/c/cert.pem","key":"/c/key.pem"},
		"filters":{"type":["container","network"],"label":["team=blue"]},"reconnectMin":50,"reconnectMax":2000,"resumeWindow":0,"pprofAddr":"127.0.0.1:0"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Hosts, []string{"tcp://10.0.0.1:2376", "tcp://10.0.0.2:2376"}) {
		t.Errorf("hosts = %q", cfg.Hosts)
	}
	if want := (tlsConfig{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem", Verify: true, Enabled: true}); cfg.TLS != want {
		t.Errorf("tls = %+v: verification must be on by default", cfg.TLS)
	}
	if want := `{"label":{"team=blue":true},"type":{"container":true,"network":true}}`; cfg.Filters != want {
		t.Errorf("filters = %s, want %s", cfg.Filters, want)
	}
	if cfg.ReconnectMin != 50*time.Millisecond || cfg.ReconnectMax != 2*time.Second || cfg.ResumeWindow != 0 {
		t.Errorf("reconnect/resume = %v %v %v", cfg.ReconnectMin, cfg.ReconnectMax, cfg.ResumeWindow)
	}
	for raw, key := range map[string]string{
		`{"host":"unix:///a","hosts":["unix:///b"]}`: "hosts",
		`{"hosts":["unix:///a","unix:///a"]}`:        "hosts",
		`{"hosts":"unix:///a"}`:                      "hosts",
		`{"tls":{"cert":"/c/cert.pem"}}`:             "tls",
		`{"tls":{"cert":"/c","key":"/k"}}`:           "tls",
		`{"tls":"yes"}`:                              "tls",
		`{"filters":{"type":"container"}}`:           "filters",
		`{"reconnectMin":500,"reconnectMax":100}`:    "reconnectMax",
		`{"pprofAddr":"0.0.0.0:6060"}`:               "pprofAddr",
		`{"pprofAddr":"nonsense"}`:                   "pprofAddr",
	} {
		if _, _, err := parseConfig(raw); err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("parseConfig(%s) = %v, want an error naming %q", raw, err, key)
		}
	}
	// Verification can only be turned off explicitly, and then needs no CA.
	cfg, _, err = parseConfig(`{"tls":{"verify":false,"cert":"/c","key":"/k"}}`)
	if err != nil || cfg.TLS.Verify {
		t.Errorf("verify:false = %+v, %v", cfg.TLS, err)
	}
}
