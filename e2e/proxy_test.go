package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
)

// socketProxy is a unix socket in front of a Docker daemon's socket that
// records every HTTP request passing through, and can cut all connections
// and refuse new ones, as a network cut or a daemon going away would.
type socketProxy struct {
	Host   string // unix:// address to give the plugin
	target string // the daemon's socket path
	ln     net.Listener

	mu       sync.Mutex
	refusing bool
	conns    map[net.Conn]struct{}
	requests []string // "GET /v1.41/events", in order
}

func startSocketProxy(t *testing.T, targetSocket string) *socketProxy {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := &socketProxy{Host: "unix://" + path, target: targetSocket, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.Cut(false)
	})
	return p
}

func (p *socketProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		if !refusing {
			p.conns[client] = struct{}{}
		}
		p.mu.Unlock()
		if refusing {
			client.Close()
			continue
		}
		go p.serve(client)
	}
}

// serve forwards one client connection, reading each request to record it.
func (p *socketProxy) serve(client net.Conn) {
	upstream, err := net.Dial("unix", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns[upstream] = struct{}{}
	p.mu.Unlock()
	defer func() {
		client.Close()
		upstream.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, upstream)
		p.mu.Unlock()
	}()
	go io.Copy(client, upstream)
	r := bufio.NewReader(client)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.requests = append(p.requests, req.Method+" "+req.URL.Path)
		p.mu.Unlock()
		if err := req.Write(upstream); err != nil {
			return
		}
	}
}

// Cut closes every open connection; with refuse, new ones are refused
// until Restore.
func (p *socketProxy) Cut(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = refuse
	for c := range p.conns {
		c.Close()
	}
}

// Restore accepts connections again.
func (p *socketProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = false
}

// Requests returns the requests seen so far.
func (p *socketProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}
