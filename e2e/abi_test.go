package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/falco-docker/plugin/internal/host"
)

func TestInfo(t *testing.T) {
	info := plugin.Info()
	if info.ID != 5 || info.Name != "docker" || info.EventSource != "docker" {
		t.Errorf("id/name/source = %d/%q/%q, want 5/docker/docker", info.ID, info.Name, info.EventSource)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(info.Version) {
		t.Errorf("version %q is not semver", info.Version)
	}
	if !strings.HasPrefix(info.RequiredAPIVersion, "3.") {
		t.Errorf("required API version %q", info.RequiredAPIVersion)
	}
	if len(info.Description) < 20 || info.Contact == "" {
		t.Errorf("description %q, contact %q", info.Description, info.Contact)
	}
}

// The seed plugin's fields must all exist (the plugin is its drop-in
// successor), with the same type.
var seedFields = []string{
	"docker.status", "docker.id", "docker.from", "docker.type", "docker.action",
	"docker.stack.namespace", "docker.node.id", "docker.swarm.task", "docker.swarm.taskid",
	"docker.swarm.taskname", "docker.swarm.servicename", "docker.node.statenew", "docker.node.stateold",
	"docker.attributes.container", "docker.attributes.image", "docker.attributes.name",
	"docker.attributes.type", "docker.attributes.exitcode", "docker.attributes.signal", "docker.scope",
}

func TestFieldTable(t *testing.T) {
	byName := fields(t)
	for _, name := range seedFields {
		if f, ok := byName[name]; !ok || f.Type != 9 {
			t.Errorf("seed field %s missing or not a string: %+v", name, f)
		}
	}
	for _, name := range []string{"docker.actor.id", "docker.attributes", "docker.exec.command", "docker.exitcode", "docker.time",
		"docker.node.availability.new", "docker.node.role.new", "docker.node.leader.new", "docker.node.reachability.new",
		"docker.service.replicas.new", "docker.service.image.new", "docker.service.updatestate.new"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("field %s missing", name)
		}
	}
	if f := byName["docker.attributes"]; !f.ArgRequired || !f.ArgIsKey {
		t.Errorf("docker.attributes must take a required key argument: %+v", f)
	}
	list, _ := json.Marshal(byName) // names are unique: the map kept them all
	if n := strings.Count(plugin.Fields(), `"name"`); n != len(byName) {
		t.Errorf("%d fields declared, %d unique names (%s)", n, len(byName), list)
	}
	for name, f := range byName {
		if !strings.HasPrefix(name, "docker.") || f.Desc == "" {
			t.Errorf("field %s: bad name or no description", name)
		}
	}
}

func TestInitSchema(t *testing.T) {
	schema, ok := plugin.InitSchema()
	if !ok {
		t.Fatal("no init schema")
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	for _, key := range []string{"flushInterval", "batchSize", "eventSize", "host", "apiVersion"} {
		if _, ok := s.Properties[key]; !ok {
			t.Errorf("schema lacks %s", key)
		}
	}
}

func TestInitRejectsBadConfigNamingTheKey(t *testing.T) {
	for config, key := range map[string]string{
		`{"batchSize":"many"}`: "batchSize",
		`{"flushInterval":0}`:  "flushInterval",
		`{"eventSize":1.5}`:    "eventSize",
		`{"host":["a"]}`:       "host",
		`{"queueSize":-3}`:     "queueSize",
		`not json`:             "init_config",
	} {
		_, err := plugin.Init(config)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("plugin_init(%s) = %v, want an error naming %s", config, err, key)
		}
	}
	// Unknown keys are tolerated, empty config is all defaults.
	for _, config := range []string{"", "{}", "null", `{"someFutureKey":1}`, `{"apiVersion":1.41,"flushinterval":30}`} {
		s, err := plugin.Init(config)
		if err != nil {
			t.Errorf("plugin_init(%q): %v", config, err)
			continue
		}
		s.Destroy()
	}
}

func TestListOpenParams(t *testing.T) {
	s := initPlugin(t, "")
	raw, err := s.ListOpenParams()
	if err != nil {
		t.Fatal(err)
	}
	var params []struct{ Value, Desc string }
	if err := json.Unmarshal([]byte(raw), &params); err != nil {
		t.Fatalf("open params %q: %v", raw, err)
	}
	if len(params) != 2 || params[0].Value != "" || !strings.HasPrefix(params[1].Value, "file://") {
		t.Errorf("open params = %+v", params)
	}
}

func TestOpenErrors(t *testing.T) {
	s := initPlugin(t, "")
	for params, want := range map[string]string{
		"file:///nonexistent/events.jsonl": "nonexistent",
		"http://example/events":            "file://",
		"file://":                          "file://",
	} {
		if _, err := s.Open(params); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("open(%q) = %v, want an error containing %q", params, err, want)
		}
	}
	// A daemon that is not there: the error names the endpoint.
	s = initPlugin(t, `{"host":"unix:///nonexistent/docker.sock"}`)
	if _, err := s.Open(""); err == nil || !strings.Contains(err.Error(), "unix:///nonexistent/docker.sock") {
		t.Errorf("open on a missing daemon = %v", err)
	}
}

// TestOpenServesItsOwnState: Falco inits the plugin once per inspector,
// so one process holds several plugin states, and plugin_open must serve
// the state it is called with, not the one initialised last.
func TestOpenServesItsOwnState(t *testing.T) {
	first := initPlugin(t, `{"batchSize":8}`)
	second := initPlugin(t, `{"batchSize":64}`)
	inst := openPlugin(t, first, "file://"+mustAbs(t, fixturePath))
	var delivered uint64
	for calls := 0; ; calls++ {
		batch, rc, err := inst.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 8 {
			t.Fatalf("a batch of %d events from the state configured for 8", len(batch))
		}
		delivered += uint64(len(batch))
		if rc == host.SSPluginEOF {
			break
		}
		if calls > 10_000 {
			t.Fatal("no EOF")
		}
	}
	if got := metricsOf(first)["events_delivered"]; got != delivered || delivered == 0 {
		t.Errorf("the opened state counts %d events delivered, want %d", got, delivered)
	}
	if got := metricsOf(second)["events_delivered"]; got != 0 {
		t.Errorf("the other state counts %d events delivered, want 0", got)
	}
}
