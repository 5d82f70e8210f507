package flows

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/store"
)

// ErrNeedsReconnect: the grant is dead (the vendor answered invalid_grant to
// the freshest refresh token there is); only a new authorization helps.
var ErrNeedsReconnect = errors.New("the connection needs to be reconnected")

// refreshLocks serializes refreshes of one connection inside this process,
// so goroutines queue here rather than on the store's write lock.
var refreshLocks sync.Map // connection id → *sync.Mutex

// RefreshStore is the store as a token refresh needs it.
type RefreshStore interface {
	store.Store
	store.Leases
}

// leaseTTL bounds a refresh lease: longer than the refresh's own deadline
// (refreshTimeout), so a lease never ends under a refresh still in flight;
// a process that dies holding one delays others this long at most.
const (
	leaseTTL       = 90 * time.Second
	refreshTimeout = 60 * time.Second
)

// TokenSource hands out a stored OAuth connection's access token and renews
// it so that a refresh token is spent exactly once, across goroutines,
// processes and machines: an in-process mutex, then the connection's lease
// (claimed in one short statement, with an expiry) → re-read → use a token
// another process already renewed → else refresh once, outside any
// database transaction (the store stays free for every other writer) → the
// new pair is committed before anyone is given the new access token → the
// lease is released. GitLab revokes the old pair when the new access token
// is first used, so a crash before the commit loses nothing: the old
// refresh token still works.
type TokenSource struct {
	Store RefreshStore
	ID    string
	// Vendor is the connection's vendor: it reads the stored address and
	// knows its token endpoint there.
	Vendor Connector
	// HTTP is the client for the token endpoint; built from the
	// connection's CA bundle when nil.
	HTTP *http.Client
	Now  func() time.Time
	// Leeway renews this long before expiry; one minute by default.
	Leeway time.Duration
}

var _ oauth2.TokenSource = (*TokenSource)(nil)

// errUnchanged aborts an Update that found nothing to write.
var errUnchanged = errors.New("unchanged")

// Token implements oauth2.TokenSource.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return ts.TokenContext(ctx)
}

func (ts *TokenSource) now() time.Time {
	if ts.Now != nil {
		return ts.Now()
	}
	return time.Now()
}

func (ts *TokenSource) fresh(c *store.Connection) bool {
	leeway := ts.Leeway
	if leeway == 0 {
		leeway = time.Minute
	}
	// No expiry given (expires_in absent): good until the server says otherwise.
	return c.Secret(store.SecretAccessToken) != "" && (c.AccessExpiresAt == nil || ts.now().Add(leeway).Before(*c.AccessExpiresAt))
}

func tokenOf(c *store.Connection) *oauth2.Token {
	t := &oauth2.Token{AccessToken: c.Secret(store.SecretAccessToken).Reveal(), TokenType: "Bearer"}
	if c.AccessExpiresAt != nil {
		t.Expiry = *c.AccessExpiresAt
	}
	return t
}

// TokenContext returns a valid access token, refreshing it if needed.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return ts.token(ctx, "")
}

// Renew replaces an access token the server rejected (401) although its
// expiry had not come by our clock: clock skew, or a server that ends tokens
// early. Under the same guard as every refresh: when another goroutine or
// process has already replaced the rejected token, its successor is used and
// no refresh token is spent.
func (ts *TokenSource) Renew(ctx context.Context, rejected string) (*oauth2.Token, error) {
	return ts.token(ctx, rejected)
}

// token returns a usable access token other than rejected, refreshing once
// when the stored one is stale or is the rejected one.
func (ts *TokenSource) token(ctx context.Context, rejected string) (*oauth2.Token, error) {
	usable := func(c *store.Connection) bool {
		return ts.fresh(c) && (rejected == "" || c.Secret(store.SecretAccessToken).Reveal() != rejected)
	}
	c, err := ts.Store.Get(ctx, ts.ID)
	if err != nil {
		return nil, err
	}
	if c.State == store.StateNeedsReconnect {
		return nil, fmt.Errorf("%w: %s", ErrNeedsReconnect, c.StateReason)
	}
	if usable(c) {
		return tokenOf(c), nil
	}
	mu, _ := refreshLocks.LoadOrStore(ts.ID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	holder := leaseHolder()
	for {
		claimed, err := ts.Store.ClaimLease(ctx, ts.ID, holder, leaseTTL)
		if err != nil {
			return nil, fmt.Errorf("renew the access token: %w", err)
		}
		if claimed {
			break
		}
		// Another process renews it: wait, then use what it stored.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("renew the access token: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if c, err := ts.Store.Get(ctx, ts.ID); err == nil && usable(c) {
			return tokenOf(c), nil
		}
	}
	defer ts.Store.ReleaseLease(context.WithoutCancel(ctx), ts.ID, holder)

	// Under the lease: the stored pair is the freshest there is.
	c, err = ts.Store.Get(ctx, ts.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case c.State == store.StateNeedsReconnect:
		return nil, fmt.Errorf("%w: %s", ErrNeedsReconnect, c.StateReason)
	case usable(c): // renewed by another process just before the lease
		return tokenOf(c), nil
	}
	svc, err := ts.service(c)
	if err != nil {
		return nil, fmt.Errorf("renew the access token: %w", err)
	}
	if c.Secret(store.SecretRefreshToken) == "" {
		return nil, ts.dead(ctx, "the access token ended and "+svc.Vendor+" issued no refresh token to renew it; reconnect to authorize again")
	}
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	tok, err := ts.refresh(rctx, svc, c)
	if err != nil {
		if connector.RefreshRefused(err) {
			// The refresh token sent is the stored one, read under the
			// lease: no one else can have renewed it. The server refused
			// it in words (invalid_grant, or another 4xx OAuth error): only
			// a new authorization helps. A 5xx or a network failure leaves
			// the stored token for a later try.
			return nil, ts.dead(ctx, svc.Vendor+" refused to renew the authorization ("+err.Error()+"); reconnect to authorize again")
		}
		return nil, fmt.Errorf("renew the access token: %w", err)
	}
	_, err = ts.Store.Update(context.WithoutCancel(ctx), ts.ID, func(c *store.Connection) error {
		c.SetSecret(store.SecretAccessToken, store.Secret(tok.AccessToken))
		if tok.RefreshToken != "" {
			c.SetSecret(store.SecretRefreshToken, store.Secret(tok.RefreshToken))
		}
		exp := tok.Expiry.UTC()
		c.AccessExpiresAt = &exp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store the renewed token: %w", err)
	}
	return tok, nil
}

// dead marks the connection as needing a reconnect, for reason.
func (ts *TokenSource) dead(ctx context.Context, reason string) error {
	ts.Store.Update(context.WithoutCancel(ctx), ts.ID, func(c *store.Connection) error {
		c.State, c.StateReason = store.StateNeedsReconnect, reason
		return nil
	})
	return fmt.Errorf("%w: %s", ErrNeedsReconnect, reason)
}

// leaseHolder names one refresh attempt of this process.
func leaseHolder() string {
	b := make([]byte, 6)
	rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// service is the OAuth service of the stored connection's instance.
func (ts *TokenSource) service(c *store.Connection) (*connector.OAuthService, error) {
	p, ok := ts.Vendor.(OAuthProvider)
	if !ok {
		return nil, fmt.Errorf("%s connections cannot be renewed by onramp", c.Vendor)
	}
	at, err := ts.Vendor.ParseAddress(c.BaseURL)
	if err != nil {
		return nil, storedAddressError(c, err)
	}
	return p.OAuth(at, storedOAuthValues(c))
}

// storedOAuthValues are a stored connection's OAuth settings as form values.
func storedOAuthValues(c *store.Connection) map[string]string {
	return map[string]string{FieldClientID: c.ClientID,
		FieldClientSecret: c.Secret(store.SecretClientSecret).Reveal(), FieldScopes: strings.Join(c.Scopes, " ")}
}

// refresh spends c's refresh token once.
func (ts *TokenSource) refresh(ctx context.Context, svc *connector.OAuthService, c *store.Connection) (*oauth2.Token, error) {
	hc := ts.HTTP
	if hc == nil {
		var err error
		if hc, err = httpx.New(httpx.Options{CABundle: []byte(c.CABundle)}); err != nil {
			return nil, err
		}
	}
	old := &oauth2.Token{RefreshToken: c.Secret(store.SecretRefreshToken).Reveal(), Expiry: time.Unix(1, 0)}
	tok, err := svc.Config.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc), old).Token()
	if err != nil {
		return nil, svc.Explain(err)
	}
	return tok, nil
}
