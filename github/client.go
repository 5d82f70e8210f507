package github

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
)

// APIVersion is the REST API version onramp is written against.
const APIVersion = "2022-11-28"

const maxBody = 8 << 20

// Client calls one GitHub's REST API with one token, the way GitHub asks
// integrators to: it waits out x-ratelimit-reset when the primary limit is
// spent and retry-after (or a minute) on a secondary limit, backs off with
// jitter on 5xx and dropped connections, and gives up after a bounded
// time. A wait longer than MaxWait is returned as a rate-limit error that
// carries it, so a job queue can put the sync aside instead of holding a
// worker.
type Client struct {
	HTTP  *http.Client
	Base  connector.Address
	Token string
	// Auth, when set, puts the credential on each request instead of Token
	// (a sync's credential, which may be renewed between calls).
	Auth func(ctx context.Context, r *http.Request) error
	// GiveUpAfter bounds the retrying of one request (5 minutes).
	GiveUpAfter time.Duration
	// MaxWait is the longest rate-limit wait spent in place (30 s).
	MaxWait time.Duration
	retries atomic.Int64
	// sleep waits (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error
}

// Retries is how many requests were retried so far.
func (c *Client) Retries() int { return int(c.retries.Load()) }

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	return httpx.Sleep(ctx, d)
}

// Get fetches path (relative to the API, or an absolute Link address on
// the same API) into out, returning the answer's headers.
func (c *Client) Get(ctx context.Context, path string, out any) (http.Header, error) {
	h, body, err := c.GetRaw(ctx, path)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return h, &Error{Kind: KindNotGitHub, Host: c.Base.Host(), Status: 200, Err: err}
		}
	}
	return h, nil
}

// GetRaw fetches path and returns its headers and body, retried as the
// type says.
func (c *Client) GetRaw(ctx context.Context, path string) (http.Header, []byte, error) {
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.Base.API + path
	} else if !strings.HasPrefix(path, c.Base.API+"/") {
		return nil, nil, &Error{Kind: KindMisconfigured, Host: c.Base.Host(), Err: fmt.Errorf("a page link pointed away from %s", c.Base.API)}
	}
	giveUp := cmp.Or(c.GiveUpAfter, 5*time.Minute)
	var first time.Time
	var last error // the server's last failure, for a deadline that ends the retries
	outOfTime := func(attempt int) error {
		if last == nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w after %d retries; the server's last answer: %w", ctx.Err(), attempt, last)
	}
	for attempt := 0; ; attempt++ {
		h, body, wait, err := c.try(ctx, u)
		if err == nil {
			return h, body, nil
		}
		if ctx.Err() != nil {
			return nil, nil, outOfTime(attempt)
		}
		last = err
		if wait < 0 {
			return nil, nil, err
		}
		if wait > cmp.Or(c.MaxWait, 30*time.Second) {
			if e, ok := err.(*Error); ok {
				e.Wait = wait
			}
			return nil, nil, err
		}
		if first.IsZero() {
			first = time.Now()
		} else if time.Since(first) > giveUp {
			return nil, nil, fmt.Errorf("gave up after %d retries over %s: %w", attempt, time.Since(first).Round(time.Second), err)
		}
		if wait == 0 {
			ceiling := min(250*time.Millisecond<<min(attempt, 6), 15*time.Second)
			wait = time.Duration(rand.Int64N(int64(ceiling))) + 50*time.Millisecond
		}
		c.retries.Add(1)
		if err := c.wait(ctx, wait); err != nil {
			return nil, nil, outOfTime(attempt + 1)
		}
	}
}

// try makes one request. wait < 0: do not retry; 0: back off; > 0: the
// server said how long.
func (c *Client) try(ctx context.Context, u string) (http.Header, []byte, time.Duration, error) {
	host := c.Base.Host()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, -1, &Error{Host: host, Err: err}
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	if c.Auth != nil {
		if err := c.Auth(ctx, req); err != nil {
			return nil, nil, -1, err
		}
	} else {
		authorizeToken(req, c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		e := transportError(host, err)
		if e.Kind == KindMisconfigured {
			return nil, nil, -1, e
		}
		return nil, nil, 0, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, 0, &Error{Kind: KindServer, Host: host, Status: resp.StatusCode, Err: err}
	}
	h := resp.Header
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		if !strings.Contains(h.Get("Content-Type"), "json") {
			return nil, nil, -1, &Error{Kind: KindNotGitHub, Host: host, Status: s}
		}
		c.pace(ctx, h)
		return h, body, 0, nil
	case s == http.StatusUnauthorized:
		return nil, nil, -1, &Error{Kind: KindCredential, Host: host, Status: s, Message: message(body)}
	case s == http.StatusForbidden || s == http.StatusTooManyRequests:
		if wait, limited := rateLimitWait(h, s, time.Now()); limited {
			return nil, nil, wait, &Error{Kind: KindRateLimited, Host: host, Status: s, Message: message(body)}
		}
		if sso := h.Get("X-GitHub-SSO"); sso != "" {
			e := &Error{Kind: KindSSO, Host: host, Status: s, Message: message(body)}
			if _, addr, ok := strings.Cut(sso, "url="); ok && OnWeb(c.Base, addr) {
				e.SSO = addr // another host's address is not shown: it could send the person anywhere
			}
			return nil, nil, -1, e
		}
		kind := KindForbidden
		if strings.Contains(string(body), "OAuth App access restrictions") {
			kind = KindAppRestricted
		}
		return nil, nil, -1, &Error{Kind: kind, Host: host, Status: s, Message: message(body)}
	case s == http.StatusNotFound:
		return nil, nil, -1, &Error{Kind: KindNotFound, Host: host, Status: s, Message: message(body)}
	case s >= 500:
		return nil, nil, 0, &Error{Kind: KindServer, Host: host, Status: s, Message: message(body)}
	}
	if h.Get("X-GitHub-Request-Id") == "" && h.Get("X-GitHub-Media-Type") == "" {
		return nil, nil, -1, &Error{Kind: KindNotGitHub, Host: host, Status: resp.StatusCode}
	}
	return nil, nil, -1, &Error{Kind: KindOther, Host: host, Status: resp.StatusCode, Message: message(body), Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
}

// rateLimitWait reads a 403/429: a spent primary limit waits until
// x-ratelimit-reset; a secondary limit waits retry-after, or a minute when
// GitHub gives neither (as its documentation asks).
func rateLimitWait(h http.Header, status int, now time.Time) (time.Duration, bool) {
	if wait, ok := httpx.RetryAfter(h.Get("Retry-After")); ok {
		return wait + 10*time.Millisecond, true
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if wait, ok := httpx.Until(h.Get("X-RateLimit-Reset"), now); ok {
			return wait + time.Second, true
		}
		return time.Minute, true
	}
	if status == http.StatusTooManyRequests {
		return time.Minute, true
	}
	return 0, false
}

// pace spreads the rest of the window over what remains once the budget
// is nearly spent, so a long sync slows down instead of hitting the wall.
func (c *Client) pace(ctx context.Context, h http.Header) {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	limit, err2 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	left, ok := httpx.Until(h.Get("X-RateLimit-Reset"), time.Now())
	// Spent (0): the next request is refused with the reset, which puts the
	// sync aside instead of holding it here.
	if err1 != nil || err2 != nil || !ok || limit <= 0 || remaining > limit/10 || remaining == 0 {
		return
	}
	if left <= 0 {
		return
	}
	c.wait(ctx, min(left/time.Duration(remaining+1), cmp.Or(c.MaxWait, 30*time.Second)))
}

// linkNext is the rel="next" address of a Link header, or "".
func linkNext(h string) string {
	for _, part := range strings.Split(h, ",") {
		addr, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(addr), "<>")
		}
	}
	return ""
}
