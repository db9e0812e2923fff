package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
)

// DefaultConnectTimeout bounds each step of reaching a daemon: the dial and
// TLS handshake, GET /_ping, GET /info, and GET /events up to its response
// headers. The docker CLI gives its own first ping 2 s (defaultInitTimeout
// in docker/cli cli/command/cli.go); 3 s leaves a remote TLS daemon a few
// round trips of margin while keeping plugin_open, which holds Falco's
// startup, short. The docker client's own dial timeout (32 s, no bound at
// all on a TLS dial) is far too long for that.
const DefaultConnectTimeout = 3 * time.Second

// MaxConnectTimeout is the largest connect timeout accepted.
const MaxConnectTimeout = time.Minute

// Environment variables of the docker CLI that turn TLS on (docker/cli
// cli/flags/options.go) and locate its configuration directory.
const (
	envTLS       = "DOCKER_TLS"
	envConfigDir = "DOCKER_CONFIG"
)

// defaultTLSHost is the endpoint the docker CLI uses when TLS is on and no
// host is given (defaultTLSHost in docker/cli opts/hosts.go).
const defaultTLSHost = "tcp://localhost:2376"

// TLSFiles are the PEM files of a TLS client. Verify is on unless turned
// off explicitly in the configuration: a security tool does not trust an
// unverified daemon (the docker CLI, unlike us, skips verification when TLS
// is on through --tls or DOCKER_TLS alone).
type TLSFiles struct {
	CA, Cert, Key string
	Verify        bool
}

// tlsFromEnv turns TLS on the docker CLI's way (docker/cli
// cli/flags/options.go: InstallFlags and SetDefaultOptions): when
// DOCKER_TLS_VERIFY or DOCKER_TLS is set to any non-empty value, with the
// files ca.pem, cert.pem and key.pem of DOCKER_CERT_PATH, else of the
// docker configuration directory (DOCKER_CONFIG, else ~/.docker); a default
// client certificate or key that does not exist is left out, as the CLI
// does. DOCKER_CERT_PATH alone does not turn TLS on: that is the rule of
// the moby client's FromEnv (client/options.go WithTLSClientConfigFromEnv),
// which the docker CLI does not use. Verification is always on here, even
// for DOCKER_TLS alone where the CLI skips it.
func tlsFromEnv() *TLSFiles {
	if os.Getenv(client.EnvTLSVerify) == "" && os.Getenv(envTLS) == "" {
		return nil
	}
	dir := os.Getenv(client.EnvOverrideCertPath)
	if dir == "" {
		dir = dockerConfigDir()
	}
	files := &TLSFiles{CA: filepath.Join(dir, "ca.pem"), Verify: true}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if fileExists(cert) && fileExists(key) {
		files.Cert, files.Key = cert, key
	}
	return files
}

// dockerConfigDir is the docker CLI's configuration directory (docker/cli
// cli/config/config.go Dir): DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() string {
	if dir := os.Getenv(envConfigDir); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// resolveHost is the endpoint the docker CLI would use: the configured
// one, else DOCKER_HOST, else tcp://localhost:2376 when TLS is on, else
// the local socket (docker/cli opts/hosts.go ParseHost).
func resolveHost(configured string, tlsOn bool) string {
	switch {
	case configured != "":
		return configured
	case os.Getenv(client.EnvOverrideHost) != "":
		return os.Getenv(client.EnvOverrideHost)
	case tlsOn:
		return defaultTLSHost
	default:
		return client.DefaultDockerHost
	}
}

// clientTLSConfig loads the files of a TLS client; tlsconfig names the file
// that failed and never prints key material.
func clientTLSConfig(files *TLSFiles) (*tls.Config, error) {
	cfg, err := tlsconfig.Client(tlsconfig.Options{
		CAFile:             files.CA,
		CertFile:           files.Cert,
		KeyFile:            files.Key,
		InsecureSkipVerify: !files.Verify,
		ExclusiveRootPools: true,
	})
	if err != nil {
		return nil, fmt.Errorf("TLS client configuration: %w", err)
	}
	return cfg, nil
}

// endpointDialer returns the DialContext of a daemon's HTTP transport. It
// dials the daemon's endpoint whatever address net/http asks for (the API's
// dummy host), and speaks TLS itself over tcp:// when tlsCfg is set, never
// over a socket (docker/cli cli/context/docker/load.go: isSocket), so that
// the dial and the handshake both end when ctx does or timeout passes. The
// docker client's own TLS dial (tls.Dial in client/hijack.go) has no context
// and no deadline. A failed or cancelled dial closes its connection.
func endpointDialer(proto, addr string, tlsCfg *tls.Config, timeout time.Duration) (func(ctx context.Context, network, address string) (net.Conn, error), error) {
	switch proto {
	case "unix":
		tlsCfg = nil
	case "tcp":
		if tlsCfg != nil && tlsCfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			tlsCfg = tlsCfg.Clone()
			tlsCfg.ServerName = host // the name the daemon's certificate must hold
		}
	default:
		return nil, fmt.Errorf("%s:// endpoints are not supported: use unix:// or tcp://", proto)
	}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, proto, addr)
		if err != nil {
			return nil, timeoutError(err, timeout)
		}
		if tlsCfg == nil {
			return conn, nil
		}
		tlsConn := tls.Client(conn, tlsCfg)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, timeoutError(err, timeout))
		}
		return tlsConn, nil
	}, nil
}

// timeoutError says which setting bounded a call that ran out of time.
func timeoutError(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within connectTimeout (%v): %w", timeout, err)
	}
	return err
}
