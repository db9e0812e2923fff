package stream

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDaemon serves the part of the Docker API a Follower uses (/_ping,
// /info, /events) with moby's semantics for /events, on its own clock:
//   - a ring of the last 256 events in publication order (daemon/events/
//     events.go: eventsLimit, PublishMessage);
//   - since/until replay the ring backwards down to the first event older
//     than since, skipping those after until, both inclusive
//     (loadBufferedEvents);
//   - filters apply to the replay after the ring and to the live events
//     (SubscribeTopic);
//   - until before since is a 400; an until in the past ends the response
//     after the replay; a future one ends it then (api/server/router/system/
//     system_routes.go: getEvents), which also answers with its headers
//     before it subscribes;
//   - its clock is the host's plus skew: events are stamped and since/until
//     compared on it, and /info reports it as SystemTime;
//   - a stop cuts every stream without its final chunk (Docker 20.10) and
//     refuses connections (the socket is gone); a restart empties the ring.
type fakeDaemon struct {
	t    testing.TB
	skew time.Duration
	tcp  bool
	addr string // socket path or host:port

	mu         sync.Mutex
	ring       []fakeEvent
	lastNano   int64
	subs       map[*fakeSub]struct{}
	srv        *http.Server
	failEvents int    // the next /events requests answered with a 500
	onReplay   func() // called (unlocked) after a finite request is served
	infoNano   int64  // the SystemTime /info reported last
	registered chan time.Time
}

type fakeEvent struct {
	typ  string
	nano int64
	line string
}

type fakeSub struct {
	types map[string]bool // nil: every type
	ch    chan string
}

func newFakeDaemon(t testing.TB, skew time.Duration, tcp bool) *fakeDaemon {
	fd := &fakeDaemon{t: t, skew: skew, tcp: tcp, subs: map[*fakeSub]struct{}{}, registered: make(chan time.Time, 64)}
	if tcp {
		fd.addr = "127.0.0.1:0"
	} else {
		fd.addr = filepath.Join(t.TempDir(), "docker.sock")
	}
	fd.start()
	t.Cleanup(func() { fd.stop(false) })
	return fd
}

// host is the endpoint to give the client.
func (fd *fakeDaemon) host() string {
	if fd.tcp {
		return "tcp://" + fd.addr
	}
	return "unix://" + fd.addr
}

func (fd *fakeDaemon) now() time.Time { return time.Now().Add(fd.skew) }

// start (re)opens the endpoint.
func (fd *fakeDaemon) start() {
	network := "unix"
	if fd.tcp {
		network = "tcp"
	}
	ln, err := net.Listen(network, fd.addr)
	if err != nil {
		fd.t.Fatalf("fake daemon: %v", err)
	}
	fd.mu.Lock()
	fd.addr = ln.Addr().String()
	fd.srv = &http.Server{Handler: http.HandlerFunc(fd.serve)}
	srv := fd.srv
	fd.mu.Unlock()
	go srv.Serve(ln)
}

// stop closes the endpoint and every connection; wipe empties the ring, as a
// daemon restart does (a network cut keeps it).
func (fd *fakeDaemon) stop(wipe bool) {
	fd.mu.Lock()
	srv := fd.srv
	fd.srv = nil
	if wipe {
		fd.ring = nil
	}
	fd.mu.Unlock()
	if srv != nil {
		srv.Close() // a unix listener removes its socket file
	}
}

// emit publishes one event of type typ and returns its actor name.
func (fd *fakeDaemon) emit(typ string) string {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	nano := max(fd.now().UnixNano(), fd.lastNano+1)
	fd.lastNano = nano
	line, name := eventLine(typ, nano)
	fd.publishLocked(typ, nano, line)
	return name
}

// emitStamped publishes an event stamped at nano, as moby's Events.Log does
// with an event it stamped before it took the ring's lock: on a busy daemon
// an event may be stamped before a request and published after it.
func (fd *fakeDaemon) emitStamped(typ string, nano int64) string {
	line, name := eventLine(typ, nano)
	fd.publish(typ, line)
	return name
}

// eventLine is the line of an event of type typ stamped at nano; its actor
// is named after both.
func eventLine(typ string, nano int64) (line, name string) {
	name = fmt.Sprintf("%s-%d", typ, nano)
	return fmt.Sprintf(`{"Type":%q,"Action":"create","Actor":{"ID":%q,"Attributes":{"name":%q}},"scope":"local","time":%d,"timeNano":%d}`,
		typ, name, name, nano/1e9, nano), name
}

// publish makes fd publish line as an event of type typ.
func (fd *fakeDaemon) publish(typ, line string) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.publishLocked(typ, TimeNano([]byte(line)), line)
}

// publishLocked appends an event to the ring and sends it to the live
// subscribers (moby's PublishMessage); fd.mu is held.
func (fd *fakeDaemon) publishLocked(typ string, nano int64, line string) {
	if len(fd.ring) == daemonRingSize {
		fd.ring = append(fd.ring[:0], fd.ring[1:]...)
	}
	fd.ring = append(fd.ring, fakeEvent{typ: typ, nano: nano, line: line})
	for s := range fd.subs {
		if s.types == nil || s.types[typ] {
			select {
			case s.ch <- line:
			default:
				fd.t.Errorf("fake daemon: a subscriber fell behind")
			}
		}
	}
}

// emitN publishes n events of type typ and returns their names.
func (fd *fakeDaemon) emitN(typ string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fd.emit(typ)
	}
	return names
}

// waitLive waits for a live subscription to register and returns when it did.
func (fd *fakeDaemon) waitLive(t testing.TB) time.Time {
	t.Helper()
	select {
	case at := <-fd.registered:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("fake daemon: no live subscription within 10s")
		return time.Time{}
	}
}

func (fd *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_ping":
		w.Header().Set("API-Version", "1.41")
		w.Write([]byte("OK"))
	case strings.HasSuffix(r.URL.Path, "/info"):
		now := fd.now()
		fd.mu.Lock()
		fd.infoNano = now.UnixNano()
		fd.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"Name": "fake", "SystemTime": now.Format(time.RFC3339Nano)})
	case strings.HasSuffix(r.URL.Path, "/events"):
		fd.events(w, r)
	default:
		http.NotFound(w, r)
	}
}

func parseEventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var nanos int64
	if frac != "" {
		if nanos, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(secs, nanos), nil
}

func (fd *fakeDaemon) events(w http.ResponseWriter, r *http.Request) {
	fd.mu.Lock()
	fail := fd.failEvents > 0
	if fail {
		fd.failEvents--
	}
	fd.mu.Unlock()
	if fail {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	since, err1 := parseEventTime(r.FormValue("since"))
	until, err2 := parseEventTime(r.FormValue("until"))
	if err1 != nil || err2 != nil {
		http.Error(w, "bad time", http.StatusBadRequest)
		return
	}
	if !until.IsZero() && until.Before(since) {
		http.Error(w, "`since` time cannot be after `until` time", http.StatusBadRequest)
		return
	}
	var types map[string]bool
	if f := r.FormValue("filters"); f != "" {
		var filters map[string]map[string]bool
		if err := json.Unmarshal([]byte(f), &filters); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		types = filters["type"]
	}
	onlyPast := !until.IsZero() && until.Before(fd.now())
	var timeout <-chan time.Time
	if !until.IsZero() && !onlyPast {
		timer := time.NewTimer(until.Sub(fd.now()))
		defer timer.Stop()
		timeout = timer.C
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush() // headers first, then the subscription, as moby does

	sub := &fakeSub{types: types, ch: make(chan string, 4096)}
	fd.mu.Lock()
	var buffered []string
	if !since.IsZero() || !until.IsZero() {
		for i := len(fd.ring) - 1; i >= 0; i-- {
			ev := fd.ring[i]
			if ev.nano < since.UnixNano() {
				break
			}
			if !until.IsZero() && ev.nano > until.UnixNano() {
				continue
			}
			if types == nil || types[ev.typ] {
				buffered = append(buffered, ev.line)
			}
		}
	}
	if !onlyPast {
		fd.subs[sub] = struct{}{}
		select {
		case fd.registered <- time.Now():
		default:
		}
	}
	onReplay := fd.onReplay
	fd.mu.Unlock()
	defer func() {
		fd.mu.Lock()
		delete(fd.subs, sub)
		fd.mu.Unlock()
	}()
	for i := len(buffered) - 1; i >= 0; i-- {
		fmt.Fprintln(w, buffered[i])
	}
	flusher.Flush()
	if onlyPast {
		if onReplay != nil {
			onReplay()
		}
		return
	}
	for {
		select {
		case line := <-sub.ch:
			fmt.Fprintln(w, line)
			flusher.Flush()
		case <-timeout:
			return
		case <-r.Context().Done():
			// The connection is gone (client left, or stop closed it):
			// no final chunk.
			panic(http.ErrAbortHandler)
		}
	}
}
