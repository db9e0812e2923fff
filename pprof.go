package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// checkLoopback accepts only loopback listen addresses: profiles expose the
// process's memory and must not be reachable from the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	return nil
}

// pprofServer serves net/http/pprof on a loopback address while the plugin
// state lives, for profiling the plugin inside Falco.
type pprofServer struct {
	srv *http.Server
	ln  net.Listener
}

func startPprof(addr string) (*pprofServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprofAddr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s := &pprofServer{srv: &http.Server{Handler: mux}, ln: ln}
	// Serve returns http.ErrServerClosed once Close is called: nothing to report.
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is where the server listens (useful with port 0).
func (s *pprofServer) Addr() string { return s.ln.Addr().String() }

func (s *pprofServer) Close() error { return s.srv.Close() }
