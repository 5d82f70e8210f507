package gitlab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/onramp-dev/onramp/internal/httpx"
)

// Fetcher GETs API pages the way GitLab asks clients to: it honours
// Retry-After on 429, paces itself when RateLimit-Remaining runs low, backs
// off exponentially with jitter on 5xx, timeouts and dropped connections,
// and gives up after a bounded time with the last error.
type Fetcher struct {
	HTTP *http.Client
	Host string
	// Auth sets the credential on a request (OAuth tokens may be renewed
	// between calls, so it is asked every time).
	Auth func(ctx context.Context, r *http.Request) error
	// Renew, when set, is called once when the server answers 401 to a
	// credential the client still thought valid (clock skew, a token the
	// server ended early): it renews the credential the rejected request
	// carried, and the request is tried once more.
	Renew func(ctx context.Context, rejected *http.Request) error
	// GiveUpAfter bounds the retrying of one request; 5 minutes by default.
	GiveUpAfter time.Duration
	// MaxWait is the longest Retry-After waited out in place (30 s by
	// default); a longer one is returned as a rate-limit error carrying the
	// wait, so a job queue can put the sync aside instead of holding a
	// worker.
	MaxWait time.Duration
	// retries counts retried requests (read from other goroutines).
	retries atomic.Int64
	// sleep waits (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error
}

func (f *Fetcher) wait(ctx context.Context, d time.Duration) error {
	if f.sleep != nil {
		return f.sleep(ctx, d)
	}
	return httpx.Sleep(ctx, d)
}

// Retries is how many requests were retried so far.
func (f *Fetcher) Retries() int { return int(f.retries.Load()) }

// backoff is full-jitter exponential: 250 ms doubling, capped at 15 s.
func backoff(attempt int) time.Duration {
	ceiling := min(250*time.Millisecond<<min(attempt, 6), 15*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling))) + 50*time.Millisecond
}

// Get fetches url into out and returns the answer's headers.
func (f *Fetcher) Get(ctx context.Context, url string, out any) (http.Header, error) {
	h, body, err := f.GetRaw(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, &Error{Kind: KindServer, Host: f.Host, Detail: "an answer could not be read"}
	}
	return h, nil
}

// GetRaw fetches url and returns its headers and body, undecoded: a sync
// asks for the next page before decoding this one.
func (f *Fetcher) GetRaw(ctx context.Context, url string) (http.Header, []byte, error) {
	giveUp := f.GiveUpAfter
	if giveUp == 0 {
		giveUp = 5 * time.Minute
	}
	var firstFailure time.Time
	var last error
	renewed := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if time.Since(firstFailure) > giveUp {
				return nil, nil, fmt.Errorf("gave up after %d retries over %s: %w", attempt-1, time.Since(firstFailure).Round(time.Second), last)
			}
			f.retries.Add(1)
		}
		h, body, retryAfter, err := f.try(ctx, url)
		var rejected *unauthorized
		if errors.As(err, &rejected) && !renewed && f.Renew != nil {
			renewed = true // once per request: a renewed credential rejected again is final
			if rerr := f.Renew(ctx, rejected.req); rerr != nil {
				return nil, nil, rerr
			}
			h, body, retryAfter, err = f.try(ctx, url)
		}
		if err == nil {
			return h, body, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if errors.As(err, &rejected) {
			return nil, nil, rejected.err
		}
		if retryAfter < 0 { // not retryable
			return nil, nil, err
		}
		if maxWait := cmp.Or(f.MaxWait, 30*time.Second); retryAfter > maxWait {
			var e *Error
			if errors.As(err, &e) {
				e.Wait = retryAfter
			}
			return nil, nil, err
		}
		if firstFailure.IsZero() {
			firstFailure = time.Now()
		}
		last = err
		d := retryAfter
		if d == 0 {
			d = backoff(attempt)
		}
		if err := f.wait(ctx, d); err != nil {
			return nil, nil, err
		}
	}
}

// try makes one request. retryAfter < 0: do not retry; 0: back off; > 0:
// the server said how long to wait.
func (f *Fetcher) try(ctx context.Context, url string) (http.Header, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, -1, err
	}
	req.Header.Set("Accept", "application/json")
	if err := f.Auth(ctx, req); err != nil {
		return nil, nil, -1, err
	}
	resp, err := f.HTTP.Do(req)
	if err != nil {
		e := classifyTransport(f.Host, err)
		if e.Kind == KindTimeout || e.Kind == KindOther || e.Kind == KindRefused {
			return nil, nil, 0, e // dropped connection, reset, timeout: retry
		}
		return nil, nil, -1, e
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		wait := time.Duration(0)
		if w, ok := httpx.RetryAfter(resp.Header.Get("Retry-After")); ok {
			wait = w + 10*time.Millisecond
		}
		return nil, nil, wait, &Error{Kind: KindRateLimited, Host: f.Host, Status: 429}
	case resp.StatusCode == http.StatusUnauthorized:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, nil, -1, &unauthorized{classifyStatus(f.Host, resp.StatusCode, body), req}
	case resp.StatusCode >= 500:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, nil, 0, classifyStatus(f.Host, resp.StatusCode, body)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, nil, -1, classifyStatus(f.Host, resp.StatusCode, body)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil { // cut off mid-body: a dropped connection
		return nil, nil, 0, &Error{Kind: KindServer, Host: f.Host, Status: resp.StatusCode, Detail: "a page was cut off"}
	}
	f.pace(ctx, resp.Header)
	return resp.Header, body, 0, nil
}

// unauthorized is a 401 with the request that drew it, for Renew.
type unauthorized struct {
	err *Error
	req *http.Request
}

func (u *unauthorized) Error() string { return u.err.Error() }
func (u *unauthorized) Unwrap() error { return u.err }

// pace slows down when the rate-limit budget is nearly spent: the rest of
// the window is spread over what remains, so the sync never hits the wall.
func (f *Fetcher) pace(ctx context.Context, h http.Header) {
	remaining, err1 := strconv.Atoi(h.Get("RateLimit-Remaining"))
	limit, err2 := strconv.Atoi(h.Get("RateLimit-Limit"))
	left, ok := httpx.Until(h.Get("RateLimit-Reset"), time.Now())
	if err1 != nil || err2 != nil || !ok || limit <= 0 || remaining > limit/10 {
		return
	}
	if left <= 0 {
		return
	}
	f.wait(ctx, min(left/time.Duration(remaining+1), 30*time.Second))
}
