package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// DaemonConfig says how to reach one Docker daemon. Empty fields follow the
// docker CLI: DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY, then the local socket.
type DaemonConfig struct {
	Host       string // unix:///var/run/docker.sock, tcp://host:2376...
	APIVersion string // pin an API version instead of negotiating
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
}

// NewDaemon prepares a client for cfg. It does not contact the daemon.
func NewDaemon(cfg DaemonConfig) (*Daemon, error) {
	opts := []client.Opt{client.FromEnv}
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
		return nil, fmt.Errorf("docker client for %q: %w", cfg.Host, err)
	}
	hostURL, err := client.ParseHostURL(cli.DaemonHost())
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker host %q: %w", cli.DaemonHost(), err)
	}
	dial := cli.Dialer() // unix, tcp and TLS alike
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}
	return &Daemon{
		cli:      cli,
		host:     cli.DaemonHost(),
		http:     &http.Client{Transport: transport},
		basePath: hostURL.Path,
	}, nil
}

// Host is the daemon's endpoint, as resolved.
func (d *Daemon) Host() string { return d.host }

// Close releases the client's connections.
func (d *Daemon) Close() error {
	d.http.CloseIdleConnections()
	return d.cli.Close()
}

// Ping checks that the daemon answers and settles the API version.
func (d *Daemon) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker daemon at %s: %w", d.host, err)
	}
	d.cli.NegotiateAPIVersion(ctx)
	return nil
}

// StreamOptions narrow the events asked of the daemon.
type StreamOptions struct {
	Since   time.Time // zero: from now on; the daemon's ring holds its last 256 events
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
	if opts.Filters != "" {
		query.Set("filters", opts.Filters)
	}
	u := url.URL{
		Scheme:   "http", // the dialer already speaks TLS where configured
		Host:     client.DummyHost,
		Path:     strings.TrimSuffix(d.basePath, "/") + "/v" + strings.TrimPrefix(d.cli.ClientVersion(), "v") + "/events",
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

// Pump reads the subscription's events into q until the stream ends (ctx
// done, daemon gone), then closes it. Each line is offered without blocking
// (see Queue.Offer); lines above maxEventSize are skipped and reported to
// tooLong. It returns why the stream ended: a daemon that stops ends it
// with an unexpected EOF, since the final chunk is never sent.
func (s *Subscription) Pump(q *Queue, maxEventSize int, tooLong func()) error {
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
			return fmt.Errorf("docker daemon at %s: events stream closed", s.host)
		case err != nil:
			return fmt.Errorf("docker daemon at %s: events stream: %w", s.host, err)
		}
		if len(line) == 0 {
			continue
		}
		q.Offer(line, s.host)
	}
}

// Close ends the subscription.
func (s *Subscription) Close() error { return s.body.Close() }
