package cli

import (
	"context"
	"fmt"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// reconnect re-authorizes a stored connection in place: same id, alias,
// settings and inventory; a new token, or a new OAuth grant.
func (a *App) reconnect(args []string) error {
	var o connectOptions
	fs := newFlagSet("reconnect", a)
	fs.BoolVar(&o.TokenStdin, "token-stdin", false, "read the new token from standard input")
	fs.StringVar(&o.TokenFile, "token-file", "", "read the new token from a file")
	fs.StringVar(&o.Flow, "flow", "", "OAuth flow: browser, device or paste")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	ctx := context.Background()
	st, conn, err := a.connectionArg(ctx, fs, args, "onramp reconnect ALIAS [--token-stdin | --token-file PATH | --flow browser|device|paste]")
	if err != nil {
		return err
	}
	defer st.Close()
	deps := a.flowDeps()
	deps.Store = st
	flow := flows.NewConnect(deps)
	if err := flow.Reconnect(conn); err != nil {
		return err
	}
	var mode flows.OAuthMode
	if conn.AuthMethod == store.AuthToken {
		if o.TokenStdin == (o.TokenFile != "") {
			return usageErr("give the new token with exactly one of --token-stdin or --token-file")
		}
		tok, err := a.readToken(o)
		if err != nil {
			return err
		}
		if err := flow.SetValue(gitlab.FieldToken, tok); err != nil {
			return usageErr("token: %v", err)
		}
	} else if mode, err = parseMode(o.Flow, deps.Remote); err != nil {
		return err
	}
	return a.authorizeAndSave(ctx, flow, mode, o.JSON)
}

// revoke revokes a connection's credential at the vendor.
func revoke(ctx context.Context, c *store.Connection) error {
	base, err := gitlab.NormalizeURL(c.BaseURL)
	if err != nil {
		return err
	}
	hc, err := httpx.New(httpx.Options{CABundle: []byte(c.CABundle)})
	if err != nil {
		return err
	}
	if c.AuthMethod == store.AuthOAuth {
		secret := c.Secret(store.SecretClientSecret).Reveal()
		// Revoking the refresh token revokes the grant; the access token too,
		// for servers that keep it alive until it expires.
		for _, t := range []store.Secret{c.Secret(store.SecretRefreshToken), c.Secret(store.SecretAccessToken)} {
			if t == "" {
				continue
			}
			if err := gitlab.RevokeOAuth(ctx, hc, base, c.ClientID, secret, t.Reveal()); err != nil {
				return err
			}
		}
		return nil
	}
	return gitlab.RevokePAT(ctx, &gitlab.Client{HTTP: hc, Base: base, Token: c.Secret(store.SecretToken).Reveal()})
}

func revokeFailed(c *store.Connection, err error) error {
	return fmt.Errorf("revoking %s at %s failed: %v; the local copy is kept (--force deletes it anyway)",
		textsafe.Line(c.Alias), textsafe.Line(c.BaseURL), err)
}
