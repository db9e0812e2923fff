package stream

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
)

// DaemonConfig says how to reach one Docker daemon. Empty fields follow the
// docker CLI: DOCKER_HOST, DOCKER_API_VERSION, DOCKER_TLS_VERIFY or
// DOCKER_TLS with DOCKER_CERT_PATH, then the local socket.
type DaemonConfig struct {
	Host           string        // unix:///var/run/docker.sock, tcp://host:2376...
	APIVersion     string        // pin an API version instead of negotiating
	TLS            *TLSFiles     // nil: as the docker CLI's environment says (see tlsFromEnv)
	ConnectTimeout time.Duration // bounds each step of a (re)connect; 0: DefaultConnectTimeout
}

// Daemon streams the raw /events lines of one Docker daemon. The official
// client serves the API calls; the stream itself is read over the same
// transport so that the bytes handed on are the daemon's bytes, never
// decoded and re-encoded. Both dial through endpointDialer, which bounds
// the dial and the TLS handshake.
type Daemon struct {
	cli            *client.Client
	host           string // as resolved, for messages and the docker.host field
	http           *http.Client
	basePath       string
	connectTimeout time.Duration
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

// NewDaemon prepares a client for cfg. It does not contact the daemon.
func NewDaemon(cfg DaemonConfig) (*Daemon, error) {
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	tlsFiles := cfg.TLS
	if tlsFiles == nil {
		tlsFiles = tlsFromEnv()
	}
	host := resolveHost(cfg.Host, tlsFiles != nil)
	hostURL, err := client.ParseHostURL(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	var tlsCfg *tls.Config
	if tlsFiles != nil && hostURL.Scheme == "tcp" {
		if tlsCfg, err = clientTLSConfig(tlsFiles); err != nil {
			return nil, fmt.Errorf("docker client for %s: %w", host, err)
		}
	}
	dial, err := endpointDialer(hostURL.Scheme, hostURL.Host, tlsCfg, timeout)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	// One transport for the client's calls and the stream. Its TLS is in
	// the dialer, so the client speaks plain HTTP over it. A daemon that
	// accepts but never answers must not hang a (re)connect.
	transport := &http.Transport{
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          6, // as the docker client's own transport (client/client.go)
		IdleConnTimeout:       30 * time.Second,
	}
	opts := []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: transport, CheckRedirect: client.CheckRedirect}),
		client.WithHost(host),
		client.WithDialContext(dial), // after WithHost, which sets its own dialer
		client.WithVersionFromEnv(),
	}
	if cfg.APIVersion != "" {
		opts = append(opts, client.WithVersion(cfg.APIVersion))
	} else {
		opts = append(opts, client.WithAPIVersionNegotiation())
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	// WithHost set the proxy from the environment for tcp://: the daemon
	// is dialled directly, as the stream always was.
	transport.Proxy = nil
	return &Daemon{
		cli:            cli,
		host:           cli.DaemonHost(),
		http:           &http.Client{Transport: transport},
		basePath:       hostURL.Path,
		connectTimeout: timeout,
		// As the client's WithVersion/WithVersionFromEnv above pin it.
		pinnedAPI: cfg.APIVersion != "" || os.Getenv(client.EnvOverrideAPIVersion) != "",
	}, nil
}

// Identify returns the daemon's name and its own clock reading (GET /info:
// Name, SystemTime, which moby's daemon/info.go fills with time.Now() when it
// answers). The time is zero when the daemon does not report it. Resumes are
// computed on this clock only: the daemon stamps its events and compares
// since/until on it, and it may disagree with ours.
func (d *Daemon) Identify(ctx context.Context) (name string, now time.Time, err error) {
	// Only the two fields: the client's Info decodes all of system.Info,
	// 137 KB allocated per call, at every open and resume.
	var info struct{ Name, SystemTime string }
	if err := d.getJSON(ctx, "/info", &info); err != nil {
		return "", time.Time{}, fmt.Errorf("docker daemon at %s: GET /info: %w", d.host, err)
	}
	if info.SystemTime != "" {
		now, err = time.Parse(time.RFC3339Nano, info.SystemTime)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("docker daemon at %s: GET /info: SystemTime %q: %w", d.host, info.SystemTime, err)
		}
	}
	return info.Name, now, nil
}

// getJSON GETs path at the API version Ping chose and decodes the answer
// into v, all within connectTimeout.
func (d *Daemon) getJSON(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, d.connectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.apiURL(path, nil), nil)
	if err != nil {
		return err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return timeoutError(err, d.connectTimeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return timeoutError(err, d.connectTimeout)
	}
	return nil
}

// apiURL is the URL of path at the API version Ping chose, through the
// transport's dialer (which speaks TLS where configured).
func (d *Daemon) apiURL(path string, query url.Values) string {
	u := url.URL{
		Scheme:   "http",
		Host:     client.DummyHost,
		Path:     strings.TrimSuffix(d.basePath, "/") + "/v" + strings.TrimPrefix(d.EventsAPIVersion(), "v") + path,
		RawQuery: query.Encode(),
	}
	return u.String()
}

// Probe tells whether the endpoint accepts connections, with one bare
// connect (no TLS, no HTTP) that it closes at once: on a unix socket it
// costs microseconds, so a Follower can probe often while the daemon is
// away. Endpoints it cannot dial alone (ssh, npipe) always pass.
func (d *Daemon) Probe(ctx context.Context) error {
	u, err := client.ParseHostURL(d.host)
	if err != nil || (u.Scheme != "unix" && u.Scheme != "tcp") {
		return nil
	}
	dialer := net.Dialer{Timeout: d.connectTimeout}
	conn, err := dialer.DialContext(ctx, u.Scheme, u.Host)
	if err != nil {
		return fmt.Errorf("docker daemon at %s: %w", d.host, err)
	}
	return conn.Close()
}

// Local reports whether the endpoint is a unix socket on this host.
func (d *Daemon) Local() bool { return strings.HasPrefix(d.host, "unix://") }

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
	ctx, cancel := context.WithTimeout(ctx, d.connectTimeout)
	defer cancel()
	ping, err := d.cli.Ping(ctx)
	if err != nil {
		return fmt.Errorf("docker daemon at %s: %w", d.host, timeoutError(err, d.connectTimeout))
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.apiURL("/events", query), nil)
	if err != nil {
		return nil, fmt.Errorf("events request for %s: %w", d.host, err)
	}
	resp, err := d.doWithin(req, d.connectTimeout)
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

// doWithin sends req and waits at most timeout for the response headers:
// the dial, the TLS handshake and the daemon's answer. The body then lives
// as long as req's context, until it is closed.
func (d *Daemon) doWithin(req *http.Request, timeout time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(timeout, cancel)
	resp, err := d.http.Do(req.WithContext(ctx))
	if !timer.Stop() { // fired: too late, whatever came back
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("no answer within connectTimeout (%v): %w", timeout, context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a response's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
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
