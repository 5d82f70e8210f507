package microsoft

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Graph reads Microsoft Graph as the app, with app-only tokens it asks for
// as it needs them (each lasts about an hour; a rejected one is renewed
// once).
type Graph struct {
	HTTP  *http.Client
	Cloud Cloud
	App   App
	Now   func() time.Time
	// MaxWait is the longest Retry-After the client waits out itself;
	// longer ones come back as a throttling error (the sync snoozes).
	MaxWait time.Duration

	mu      sync.Mutex
	tok     *Token
	retries int
}

// Token is the app's current token, asked for when there is none or it
// ends within five minutes.
func (g *Graph) Token(ctx context.Context) (*Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.tok != nil && now.Before(g.tok.Expires.Add(-5*time.Minute)) {
		return g.tok, nil
	}
	tok, err := AppToken(ctx, g.HTTP, g.Cloud, g.App, now)
	if err != nil {
		return nil, err
	}
	g.tok = tok
	return tok, nil
}

// forget drops a token Graph rejected, so the next request asks anew.
func (g *Graph) forget(access string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tok != nil && g.tok.Access == access {
		g.tok = nil
	}
}

func (g *Graph) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Retries counts the requests sent again (throttling, a renewed token).
func (g *Graph) Retries() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.retries
}

// Get reads one Graph resource into out. rawURL is a path under the API
// root, or a next link Graph gave, which must stay on it.
func (g *Graph) Get(ctx context.Context, rawURL string, out any) error {
	api := g.Cloud.address().API
	if !strings.HasPrefix(rawURL, "https://") && !strings.HasPrefix(rawURL, "http://") {
		rawURL = api + rawURL
	} else if !strings.HasPrefix(rawURL, api+"/") {
		return &Error{Kind: KindMisconfigured, Host: hostOf(api), Err: errors.New("a page link pointed away from " + api)}
	}
	renewed := false
	for attempt := 0; ; attempt++ {
		tok, err := g.Token(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return &Error{Kind: KindOther, Host: hostOf(api), Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok.Access)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("ConsistencyLevel", "eventual") // $count on /users needs it
		resp, err := g.HTTP.Do(req)
		if err != nil {
			return transportError(hostOf(api), err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if rerr != nil {
			return transportError(hostOf(api), rerr)
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, out); err != nil {
				return &Error{Kind: KindNotMicrosoft, Host: hostOf(api), Status: resp.StatusCode, Err: err}
			}
			return nil
		}
		e := statusError(hostOf(api), resp, body)
		switch {
		case e.Kind == KindCredential && !renewed: // the token ended early, or was revoked: once more with a new one
			g.forget(tok.Access)
			renewed = true
		case e.Kind == KindThrottled && e.Wait <= g.maxWait() && attempt < 3:
			select {
			case <-time.After(e.Wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			return e
		}
		g.mu.Lock()
		g.retries++
		g.mu.Unlock()
	}
}

func (g *Graph) maxWait() time.Duration {
	if g.MaxWait > 0 {
		return g.MaxWait
	}
	return 5 * time.Second
}
