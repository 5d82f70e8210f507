package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

func (a *App) newReconnectCmd() *cobra.Command {
	o := &connectOptions{}
	cmd := &cobra.Command{
		Use:   "reconnect ALIAS [--token-stdin | --token-file PATH | --flow MODE]",
		Short: "Authorize a connection again, keeping its alias, settings and inventory",
		Long: `Authorize a stored connection again in place: the same id, alias, settings
and inventory, with a new token (read from standard input or a file) or a
new OAuth grant. Its first sync is queued again.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp reconnect prod --token-stdin < new-token.txt
  onramp reconnect prod-oauth --flow device --json`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			return a.exec(cmd, o, func() error { return a.reconnect(cmd.Context(), o) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.TokenStdin, "token-stdin", false, "read the new token from standard input")
	f.StringVar(&o.TokenFile, "token-file", "", "read the new token from the file at `PATH`")
	f.StringVar(&o.Flow, "flow", "", "OAuth flow `MODE`: browser, device or paste")
	f.BoolVar(&o.ClientSecretStdin, "client-secret-stdin", false, "read an app's new client secret from standard input")
	f.DurationVar(&o.Wait, "wait", 15*time.Minute, "how long verification waits for an administrator's consent (0: not at all)")
	o.fields = registerFieldFlags(f, a.Catalog, false)
	f.BoolVar(&o.JSON, "json", false, "print JSON: the connection, summary and warnings")
	cmd.RegisterFlagCompletionFunc("flow", fixed("browser", "device", "paste"))
	cmd.MarkFlagFilename("token-file")
	return cmd
}

// reconnect re-authorizes a stored connection in place: same id, alias,
// settings and inventory; a new token, or a new OAuth grant.
func (a *App) reconnect(ctx context.Context, o *connectOptions) error {
	st, conn, err := a.openConnection(ctx, o.Alias)
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
	switch key := flow.Retype(); {
	case key == flows.FieldToken:
		if o.TokenStdin == (o.TokenFile != "") {
			return usageErr("give the new token with exactly one of --token-stdin or --token-file")
		}
		tok, err := a.readToken(*o)
		if err != nil {
			return err
		}
		if err := flow.SetValue(flows.FieldToken, tok); err != nil {
			return usageErr("token: %v", err)
		}
	case key != "": // an app's secret
		if !o.ClientSecretStdin {
			return usageErr("give the new %s with --client-secret-stdin", strings.ToLower(flow.Method.Field(key).Label))
		}
		secret, err := a.readToken(connectOptions{TokenStdin: true, prompt: "Paste the new secret (input hidden): "})
		if err != nil {
			return err
		}
		if err := flow.SetValue(key, secret); err != nil {
			return usageErr("secret: %v", err)
		}
	case flow.Method.Kind == flows.MethodOAuth:
		if mode, err = parseMode(o.Flow, deps.Remote); err != nil {
			return err
		}
	}
	if err := o.fields.apply(flow); err != nil {
		return err
	}
	return a.authorizeAndSave(ctx, flow, mode, o)
}

func revokeFailed(c *store.Connection, err error) error {
	return fmt.Errorf("revoking %s at %s failed: %v; the local copy is kept (--force deletes it anyway)",
		textsafe.Line(c.Alias), textsafe.Line(c.BaseURL), err)
}
