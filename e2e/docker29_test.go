package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/falco-docker/plugin/internal/testdocker"
)

// docker29API is the API version of the Docker 29.8 daemon the tests build
// (.ci/dockerd29): the newest the plugin asks for.
const docker29API = "1.56"

// TestLiveDocker29Events runs the live scenario on a private Docker 29
// daemon, which talks API v1.56 while the docker/docker client library
// stops at v1.51: the plugin must ask for events at the daemon's own
// version, since below v1.52 Docker 29 re-encodes container and image
// events through a map and rounds their timeNano through a float64. The
// scenario compares every delivered event byte for byte with the daemon's
// own v1.56 record (so every timeNano is exact); here the events must also
// be in the v1.52 format, with status, id and from derived by the plugin.
func TestLiveDocker29Events(t *testing.T) {
	d := testdocker.StartDaemon(t, testdocker.Docker29(t, "d29"))
	if api := d.Docker().Run(t, "version", "--format", "{{.Server.APIVersion}}"); api != docker29API {
		t.Fatalf("the Docker 29 daemon talks API %s, want %s", api, docker29API)
	}
	// A proxy in front of the daemon shows the API version of the requests.
	proxy := startSocketProxy(t, d.Socket)
	run := runLiveScenario(t, d.Docker(), proxy.Host, d.Socket, docker29API)

	var eventsRequests int
	for _, r := range proxy.Requests() {
		path, ok := strings.CutPrefix(r, "GET ")
		if !ok || !strings.HasSuffix(path, "/events") {
			continue
		}
		eventsRequests++
		if path != "/v"+docker29API+"/events" {
			t.Errorf("events asked as %s, want at the daemon's API version: /v%s/events", path, docker29API)
		}
	}
	if eventsRequests == 0 {
		t.Errorf("no events request went through the proxy: %v", proxy.Requests())
	}
	// The v1.52 format: no deprecated keys on the wire (runLiveScenario
	// checked that the plugin derives them).
	derived := 0
	for _, e := range run.mine {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(e.data), &keys); err != nil {
			t.Fatalf("event is not JSON: %s", e.data)
		}
		var legacy []string
		for _, k := range []string{"status", "id", "from"} {
			if _, ok := keys[k]; ok {
				legacy = append(legacy, k)
			}
		}
		if len(legacy) > 0 {
			t.Errorf("event sent with %v, which API v1.52 on leaves out: %s", legacy, e.data)
		}
		if typ := e.str("docker.type"); typ == "container" || typ == "image" {
			derived++
		}
	}
	if derived == 0 {
		t.Error("no container or image event: status/id/from derivation not exercised")
	}

	// What a v1.51 client would have been sent for the same window: logged,
	// as it is Docker's behaviour, to show why the version matters.
	since, until := run.start-uint64(time.Second), run.end
	all := func(string) bool { return true }
	current, legacy := daemonRecord(t, d.Socket, docker29API, since, until, all), daemonRecord(t, d.Socket, "1.51", since, until, all)
	if len(current) == len(legacy) {
		off, worst := 0, int64(0)
		for i := range current {
			var a, b struct {
				TimeNano int64 `json:"timeNano"`
			}
			json.Unmarshal([]byte(current[i]), &a)
			json.Unmarshal([]byte(legacy[i]), &b)
			if d := b.TimeNano - a.TimeNano; d != 0 {
				off++
				worst = max(worst, d, -d)
			}
		}
		t.Logf("docker 29: %d events exact at API v%s (%d of them container/image with status/id/from derived); at v1.51 the daemon sends %d of the %d with timeNano off by up to %d ns",
			len(run.mine), docker29API, derived, off, len(legacy), worst)
	}
}
