// Package httpx builds the one HTTP client onramp uses for every vendor call.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/onramp-dev/onramp/internal/version"
)

// Options configure a client.
type Options struct {
	// CABundle is PEM added to the system roots (a private CA).
	CABundle []byte
	// Timeout bounds a whole request; 30 s when zero.
	Timeout time.Duration
	// Guard, when set, vets every address a host name resolves to before
	// connecting (the SSH server refuses metadata and link-local addresses),
	// and the connection goes to the vetted address: no DNS rebinding.
	Guard func(host string, ip net.IP) error
	// Dial replaces the dialer (tests reach a sandbox under another name).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Debug, when set, receives one line per request: method, address,
	// status and time, with every secret redacted. ONRAMP_DEBUG_HTTP=FILE
	// turns it on for the CLI (never the terminal: the wizard draws there).
	Debug io.Writer
}

// RedirectError reports a redirect the client refused to follow.
type RedirectError struct {
	From, To *url.URL
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s redirected to %s", redact(e.From), redact(e.To))
}

// New returns a client that:
//   - follows redirects only to the same scheme and host: Go forwards
//     Private-Token across hosts and replays POST bodies (secrets) on 307/308;
//   - trusts the system roots plus CABundle;
//   - takes proxies from the environment (HTTPS_PROXY, NO_PROXY);
//   - bounds dialling, TLS, headers and the whole request;
//   - names itself onramp/VERSION.
func New(o Options) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone() // keeps ProxyFromEnvironment
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if o.Dial != nil {
		t.DialContext = o.Dial
	}
	if o.Guard != nil {
		t.DialContext = guarded(t.DialContext, o.Guard)
	}
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 20 * time.Second
	if len(o.CABundle) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("the CA bundle holds no PEM certificate")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var rt http.RoundTripper = userAgent{t}
	debug := o.Debug
	if debug == nil {
		debug = DebugLog
	}
	if debug != nil {
		rt = debugLog{next: rt, w: debug}
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: sameOrigin,
	}, nil
}

func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return &RedirectError{From: via[len(via)-1].URL, To: req.URL}
	}
	if len(via) >= 5 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	return nil
}

type userAgent struct{ next http.RoundTripper }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", version.UserAgent())
	return u.next.RoundTrip(r)
}

// BlockedError is a connection the guard refused.
type BlockedError struct {
	Host   string
	IP     net.IP
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("%s (%s) is not reachable from this server: %s", e.Host, e.IP, e.Reason)
}

func guarded(dial func(ctx context.Context, network, addr string) (net.Conn, error), guard func(string, net.IP) error) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		var last error
		for _, ip := range ips {
			if err := guard(host, ip.IP); err != nil {
				last = err
				continue
			}
			return dial(ctx, network, net.JoinHostPort(ip.IP.String(), port))
		}
		if last == nil {
			last = fmt.Errorf("%s has no address", host)
		}
		return nil, last
	}
}

// DebugLog, when set (by the CLI, from ONRAMP_DEBUG_HTTP), is where every
// client logs its requests.
var DebugLog io.Writer

type debugLog struct {
	next http.RoundTripper
	w    io.Writer
}

func (d debugLog) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := d.next.RoundTrip(r)
	auth := ""
	for _, h := range []string{"Authorization", "Private-Token"} {
		if r.Header.Get(h) != "" {
			auth += " " + h + ": REDACTED"
		}
	}
	if err != nil {
		fmt.Fprintf(d.w, "%s %s %s%s -> error after %s\n", start.Format(time.RFC3339), r.Method, redact(r.URL), auth, time.Since(start).Round(time.Millisecond))
		return resp, err
	}
	fmt.Fprintf(d.w, "%s %s %s%s -> %d in %s\n", start.Format(time.RFC3339), r.Method, redact(r.URL), auth, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	return resp, err
}

// secretParams are query parameters never printed.
var secretParams = []string{"access_token", "private_token", "refresh_token", "client_secret", "code", "code_verifier", "token", "state"}

// redact returns u without credentials or secret query values, for messages.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for _, k := range secretParams {
			if q.Has(k) {
				q.Set(k, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// Unanswered says in a few words why a request got no answer — "timed
// out", "no such host", "connection refused", else the error itself — and
// whether it was a redirect the client refused (the server's own address
// setting points elsewhere): what a vendor's error names.
func Unanswered(err error) (reason error, redirected bool) {
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return redirect, true
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return errors.New("timed out"), false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return errors.New("no such host"), false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
		return errors.New("connection refused"), false
	}
	return err, false
}
