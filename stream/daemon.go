package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
)

// DaemonConfig says how to reach one Docker daemon. Empty fields follow the
// docker CLI: DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY, then the local socket.
type DaemonConfig struct {
	Host       string    // unix:///var/run/docker.sock, tcp://host:2376...
	APIVersion string    // pin an API version instead of negotiating
	TLS        *TLSFiles // nil: DOCKER_CERT_PATH if set, else no TLS
}

// TLSFiles are the PEM files of a TLS client. Verify is on unless turned
// off explicitly: a security tool does not trust an unverified daemon (the
// docker CLI, unlike us, skips verification when DOCKER_TLS_VERIFY is unset).
type TLSFiles struct {
	CA, Cert, Key string
	Verify        bool
}

// tlsFromEnv reads DOCKER_CERT_PATH the docker CLI's way (ca.pem, cert.pem,
// key.pem), verifying unless DOCKER_TLS_VERIFY is explicitly false.
func tlsFromEnv() *TLSFiles {
	dir := os.Getenv(client.EnvOverrideCertPath)
	if dir == "" {
		return nil
	}
	verify := true
	if v, err := strconv.ParseBool(os.Getenv(client.EnvTLSVerify)); err == nil && !v {
		verify = false
	}
	return &TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), Verify: verify}
}

// httpClientWithTLS is the docker client's HTTP client with our TLS
// settings; the client then sets the dialer for the endpoint on it.
func httpClientWithTLS(files *TLSFiles) (*http.Client, error) {
	cfg, err := tlsconfig.Client(tlsconfig.Options{
		CAFile:             files.CA,
		CertFile:           files.Cert,
		KeyFile:            files.Key,
		InsecureSkipVerify: !files.Verify,
		ExclusiveRootPools: true,
	})
	if err != nil {
		// tlsconfig names the file that failed; it never prints key material.
		return nil, fmt.Errorf("TLS client configuration: %w", err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, CheckRedirect: client.CheckRedirect}, nil
}

// Daemon streams the raw /events lines of one Docker daemon. The official
// client resolves the endpoint, TLS and the API version; the stream itself
// is read over the client's own dialer so that the bytes handed on are the
// daemon's bytes, never decoded and re-encoded.
type Daemon struct {
	cli      *client.Client
	host     string // as resolved, for messages and the docker.host field
	http     *http.Client
	basePath string
	// pinnedAPI: apiVersion or DOCKER_API_VERSION chose the API version.
	pinnedAPI bool
	// eventsAPI is the API version of GET /events, set by Ping (the
	// follower's goroutine pings before each subscription).
	eventsAPI string
}

// newestEventsAPI is the newest Docker API version whose events the plugin
// understands: from v1.52 (Docker 29) the daemon leaves out status, id and
// from, which decode.go derives; v1.52 to v1.56 (Docker 29.8, measured) send
// the same keys. Below v1.52 a Docker 29 daemon re-encodes container and
// image events through a map and rounds timeNano through a float64
// (moby/moby daemon/server/router/system/system_routes.go: getEvents,
// backFillLegacy), so talking to each daemon at its own version, up to this
// one, is what keeps their timestamps exact. A newer version is adopted only
// once its events are checked.
const newestEventsAPI = "1.56"

// connectTimeout bounds each attempt to reach a daemon.
const connectTimeout = 10 * time.Second

// NewDaemon prepares a client for cfg. It does not contact the daemon.
func NewDaemon(cfg DaemonConfig) (*Daemon, error) {
	tlsFiles := cfg.TLS
	if tlsFiles == nil {
		tlsFiles = tlsFromEnv()
	}
	var opts []client.Opt
	if tlsFiles != nil {
		hc, err := httpClientWithTLS(tlsFiles)
		if err != nil {
			return nil, fmt.Errorf("docker client for %s: %w", displayHost(cfg.Host), err)
		}
		opts = append(opts, client.WithHTTPClient(hc))
	}
	opts = append(opts, client.WithHostFromEnv(), client.WithVersionFromEnv())
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	if cfg.APIVersion != "" {
		opts = append(opts, client.WithVersion(cfg.APIVersion))
	} else {
		opts = append(opts, client.WithAPIVersionNegotiation())
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", displayHost(cfg.Host), err)
	}
	hostURL, err := client.ParseHostURL(cli.DaemonHost())
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker host %q: %w", cli.DaemonHost(), err)
	}
	dial := cli.Dialer() // unix, tcp and TLS alike
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, connectTimeout)
			defer cancel()
			return dial(ctx)
		},
		// A daemon that accepts but never answers must not hang a (re)connect.
		ResponseHeaderTimeout: connectTimeout,
	}
	return &Daemon{
		cli:      cli,
		host:     cli.DaemonHost(),
		http:     &http.Client{Transport: transport},
		basePath: hostURL.Path,
		// As the client's WithVersion/WithVersionFromEnv above pin it.
		pinnedAPI: cfg.APIVersion != "" || os.Getenv(client.EnvOverrideAPIVersion) != "",
	}, nil
}

func displayHost(host string) string {
	if host == "" {
		return "the default endpoint"
	}
	return host
}

// Info returns the daemon's name (GET /info): its hostname.
func (d *Daemon) Name(ctx context.Context) (string, error) {
	info, err := d.cli.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("docker daemon at %s: GET /info: %w", d.host, err)
	}
	return info.Name, nil
}

// Host is the daemon's endpoint, as resolved.
func (d *Daemon) Host() string { return d.host }

// Close releases the client's connections.
func (d *Daemon) Close() error {
	d.http.CloseIdleConnections()
	return d.cli.Close()
}

// Ping checks that the daemon answers and settles the API versions: the
// client's own (capped by the client library) for its requests, and the
// events one: the daemon's own, up to newestEventsAPI, unless pinned. It is
// settled again on every ping, so a daemon upgraded behind a reconnect is
// then followed at its new version.
func (d *Daemon) Ping(ctx context.Context) error {
	ping, err := d.cli.Ping(ctx)
	if err != nil {
		return fmt.Errorf("docker daemon at %s: %w", d.host, err)
	}
	d.cli.NegotiateAPIVersionPing(ping)
	d.eventsAPI = eventsAPIVersion(ping.APIVersion, d.cli.ClientVersion(), d.pinnedAPI)
	return nil
}

// eventsAPIVersion picks the API version of GET /events from the daemon's
// (the API-Version header of its ping) and the client's.
func eventsAPIVersion(daemon, clientVersion string, pinned bool) string {
	switch {
	case pinned || daemon == "":
		// A pinned version is the user's; a daemon that does not say its
		// version predates API v1.25: the client's fallback.
		return clientVersion
	case versions.LessThan(daemon, newestEventsAPI):
		return daemon
	default:
		return newestEventsAPI
	}
}

// EventsAPIVersion is the API version the next subscription will use
// (settled by Ping).
func (d *Daemon) EventsAPIVersion() string {
	if d.eventsAPI == "" {
		return d.cli.ClientVersion()
	}
	return d.eventsAPI
}

// StreamOptions narrow the events asked of the daemon.
type StreamOptions struct {
	Since   time.Time // zero: from now on; the daemon's ring holds its last 256 events
	Until   time.Time // zero: follow forever; else the stream ends at that time
	Filters string    // JSON of the daemon's filters argument, "" for none
}

// Subscription is an open GET /events response.
type Subscription struct {
	host string
	body io.ReadCloser
}

// Subscribe asks the daemon for its events and returns once the daemon has
// answered: it registers the subscriber before answering, so no event that
// happens after Subscribe returns can be missed. ctx bounds the whole
// subscription, not only this call.
func (d *Daemon) Subscribe(ctx context.Context, opts StreamOptions) (*Subscription, error) {
	query := url.Values{}
	if !opts.Since.IsZero() {
		query.Set("since", fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond()))
	}
	if !opts.Until.IsZero() {
		query.Set("until", fmt.Sprintf("%d.%09d", opts.Until.Unix(), opts.Until.Nanosecond()))
	}
	if opts.Filters != "" {
		query.Set("filters", opts.Filters)
	}
	u := url.URL{
		Scheme:   "http", // the dialer already speaks TLS where configured
		Host:     client.DummyHost,
		Path:     strings.TrimSuffix(d.basePath, "/") + "/v" + strings.TrimPrefix(d.EventsAPIVersion(), "v") + "/events",
		RawQuery: query.Encode(),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("events request for %s: %w", d.host, err)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docker daemon at %s: GET /events: %w", d.host, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("docker daemon at %s: GET /events: %s: %s", d.host, resp.Status, strings.TrimSpace(string(msg)))
	}
	return &Subscription{host: d.host, body: resp.Body}, nil
}

// errStreamClosed ends a stream the daemon closed cleanly (an until= reached).
var errStreamClosed = errors.New("events stream closed")

// Pump hands the subscription's lines to offer until the stream ends (ctx
// done, daemon gone, until= reached), then closes it. offer must not block
// (see Queue.Offer); lines above maxEventSize are skipped and reported to
// tooLong. It returns why the stream ended: a daemon that stops ends it
// with an unexpected EOF, since the final chunk is never sent.
func (s *Subscription) Pump(offer func(line []byte) bool, maxEventSize int, tooLong func()) error {
	defer s.body.Close()
	split := newLineSplitter(s.body, maxEventSize)
	for {
		line, err := split.next()
		switch {
		case errors.Is(err, ErrLineTooLong):
			if tooLong != nil {
				tooLong()
			}
			continue
		case err == io.EOF:
			return fmt.Errorf("docker daemon at %s: %w", s.host, errStreamClosed)
		case err != nil:
			return fmt.Errorf("docker daemon at %s: events stream: %w", s.host, err)
		}
		if len(line) == 0 {
			continue
		}
		offer(line)
	}
}

// Close ends the subscription.
func (s *Subscription) Close() error { return s.body.Close() }
