package testdocker

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"sync"
	"testing"
)

// StartTLSProxy serves TLS on a free 127.0.0.1 port with the server's
// certificate, requiring a client certificate signed by its CA (as dockerd
// --tlsverify does), and forwards every connection to the unix socket. It
// returns the tcp:// endpoint. Plain HTTP sent to it fails the handshake, so
// a client that reaches the socket through it spoke TLS.
func StartTLSProxy(t testing.TB, server TLSFiles, socket string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(server.Cert, server.Key)
	if err != nil {
		t.Fatalf("TLS proxy: %v", err)
	}
	caPEM, err := os.ReadFile(server.CA)
	if err != nil {
		t.Fatalf("TLS proxy: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("TLS proxy: no certificate in %s", server.CA)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatalf("TLS proxy: %v", err)
	}
	conns := trackConns(t, ln)
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			if !conns.add(client) {
				return
			}
			go func() {
				defer conns.remove(client)
				upstream, err := net.Dial("unix", socket)
				if err != nil {
					return
				}
				if !conns.add(upstream) {
					return
				}
				defer conns.remove(upstream)
				go func() {
					io.Copy(upstream, client)
					upstream.Close()
				}()
				io.Copy(client, upstream)
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

// StartStalledListener accepts TCP connections on a free 127.0.0.1 port and
// never answers: a TLS client's handshake waits forever. It closes each
// connection once the client has closed its end, so that a test can count
// the client's file descriptors. It returns the address (host:port).
func StartStalledListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("stalled listener: %v", err)
	}
	conns := trackConns(t, ln)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if !conns.add(conn) {
				return
			}
			go func() {
				defer conns.remove(conn)
				io.Copy(io.Discard, conn) // until the client closes
			}()
		}
	}()
	return ln.Addr().String()
}

// connSet closes a listener's open connections when the test ends.
type connSet struct {
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func trackConns(t testing.TB, ln net.Listener) *connSet {
	s := &connSet{conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
	})
	return s
}

// add registers c, or closes it and reports false once the test has ended.
func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c net.Conn) {
	c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}
