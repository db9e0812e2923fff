package stream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeVersionedDaemon answers /_ping with apiVersion and records the paths
// of the events requests, which it answers with an empty stream.
func fakeVersionedDaemon(t *testing.T, apiVersion string) (host string, eventsPaths func() []string) {
	t.Helper()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", apiVersion)
			w.Write([]byte("OK"))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/events") {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + strings.TrimPrefix(srv.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

// Each daemon is asked for its events at its own API version, up to the
// newest whose events the plugin understands, unless a version is pinned:
// a Docker 29 daemon below v1.52 rounds timeNano, so the client library's
// own cap (v1.51 for docker/docker v28) must not apply to the stream.
func TestEventsAPIVersionIsTheDaemons(t *testing.T) {
	t.Setenv("DOCKER_API_VERSION", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	cases := []struct {
		daemon, pinned, env, want string
	}{
		{daemon: "1.41", want: "1.41"},                              // Docker 20.10
		{daemon: "1.51", want: "1.51"},                              // Docker 28
		{daemon: "1.52", want: "1.52"},                              // Docker 29.0
		{daemon: "1.56", want: "1.56"},                              // Docker 29.8
		{daemon: "1.60", want: newestEventsAPI},                     // newer than the plugin knows
		{daemon: "1.56", pinned: "1.44", want: "1.44"},              // apiVersion
		{daemon: "1.56", env: "1.43", want: "1.43"},                 // DOCKER_API_VERSION
		{daemon: "1.41", pinned: "1.40", env: "1.43", want: "1.40"}, // the configuration wins
	}
	for _, c := range cases {
		t.Run(c.daemon+"/"+c.pinned+"/"+c.env, func(t *testing.T) {
			t.Setenv("DOCKER_API_VERSION", c.env)
			host, eventsPaths := fakeVersionedDaemon(t, c.daemon)
			d, err := NewDaemon(DaemonConfig{Host: host, APIVersion: c.pinned})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			if err := d.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			sub, err := d.Subscribe(ctx, StreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sub.Close()
			if got := eventsPaths(); len(got) != 1 || got[0] != "/v"+c.want+"/events" {
				t.Errorf("daemon at API %s, pinned %q, DOCKER_API_VERSION %q: events requested at %v, want /v%s/events", c.daemon, c.pinned, c.env, got, c.want)
			}
			if got := d.EventsAPIVersion(); got != c.want {
				t.Errorf("EventsAPIVersion() = %s, want %s", got, c.want)
			}
		})
	}
}
