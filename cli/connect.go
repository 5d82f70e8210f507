package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/store"
)

// connectOptions are `onramp connect`'s flags.
type connectOptions struct {
	Vendor     string
	Auth       string
	URL        string
	Alias      string
	TokenStdin bool
	TokenFile  string
	CAFile     string
	AllowHTTP  bool
	JSON       bool
	// OAuth
	ClientID          string
	ClientSecretStdin bool
	Scopes            string
	Flow              string
	// prompt is what a terminal shows before a masked read.
	prompt string
}

// connectResult is what --json prints.
type connectResult struct {
	Connection   flows.Integration   `json:"connection"`
	Summary      []flows.SummaryItem `json:"summary"`
	Warnings     []flows.Warning     `json:"warnings"`
	Verification struct {
		Username  string   `json:"username"`
		Admin     bool     `json:"admin"`
		Version   string   `json:"server_version"`
		Edition   string   `json:"server_edition"`
		Scopes    []string `json:"scopes"`
		ExpiresAt any      `json:"expires_at"`
	} `json:"verification"`
}

// connect runs the wizard's flow without a terminal: same code, same summary.
func (a *App) connect(args []string) error {
	var o connectOptions
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr("usage: onramp connect VENDOR --url URL ... (vendors: %s)", vendorIDs(a.Catalog))
	}
	o.Vendor = args[0]
	fs := newFlagSet("connect", a)
	fs.StringVar(&o.Auth, "auth", store.AuthToken, "auth method: token or oauth")
	fs.StringVar(&o.URL, "url", "", "server URL")
	fs.StringVar(&o.ClientID, "client-id", "", "OAuth application ID")
	fs.BoolVar(&o.ClientSecretStdin, "client-secret-stdin", false, "read the OAuth application secret from standard input")
	fs.StringVar(&o.Scopes, "scopes", "", "OAuth scopes (default read_api read_user)")
	fs.StringVar(&o.Flow, "flow", "", "OAuth flow: browser, device or paste (default: browser here, device over SSH)")
	fs.StringVar(&o.Alias, "alias", "", "connection alias")
	fs.BoolVar(&o.TokenStdin, "token-stdin", false, "read the token from standard input")
	fs.StringVar(&o.TokenFile, "token-file", "", "read the token from a file")
	fs.StringVar(&o.CAFile, "ca-file", "", "CA certificate (PEM) for a private CA")
	fs.BoolVar(&o.AllowHTTP, "allow-http", false, "allow plain http to a host other than this machine")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	fs.String("token", "", "refused: tokens never go in argv")
	fs.String("client-secret", "", "refused: secrets never go in argv")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.Lookup("token").Value.String() != "" || fs.Lookup("client-secret").Value.String() != "" {
		return usageErr("a secret on the command line is visible to every user of this machine; use --token-stdin, --token-file or --client-secret-stdin")
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	// Every flag is checked before anything is read or opened, so a script
	// learns of its mistakes before any secret is read.
	if a.Catalog.Vendor(o.Vendor) == nil {
		return usageErr("no vendor %q in the catalog (vendors: %s)", o.Vendor, vendorIDs(a.Catalog))
	}
	remote := flows.IsRemote(a.Getenv)
	var mode flows.OAuthMode
	switch o.Auth {
	case store.AuthToken:
		if o.TokenStdin == (o.TokenFile != "") {
			return usageErr("give the token with exactly one of --token-stdin or --token-file")
		}
	case store.AuthOAuth:
		if o.ClientID == "" {
			return usageErr("--auth oauth needs --client-id (the Application ID from GitLab)")
		}
		m, err := parseMode(o.Flow, remote)
		if err != nil {
			return err
		}
		mode = m
	default:
		return usageErr("--auth is token or oauth")
	}
	if o.URL == "" {
		// No silent default: a token for a self-managed instance must not be
		// sent to GitLab.com because a flag was forgotten.
		return usageErr("--url is required: your GitLab's address (https://gitlab.com for GitLab.com)")
	}
	var token string
	if o.Auth == store.AuthToken {
		t, err := a.readToken(o)
		if err != nil {
			return err
		}
		token = t
	}

	ctx := context.Background()
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	deps := a.flowDeps()
	deps.Store = st
	flow := flows.NewConnect(deps)
	if err := flow.ChooseVendor(o.Vendor); err != nil {
		return usageErr("%v (vendors: %s)", err, vendorIDs(a.Catalog))
	}
	if err := flow.ChooseMethod(o.Auth); err != nil {
		return usageErr("%v", err)
	}
	set := func(key, value, flag string) error {
		if value == "" {
			return nil
		}
		if err := flow.SetValue(key, value); err != nil {
			return usageErr("%s: %v", flag, err)
		}
		return nil
	}
	if err := set(gitlab.FieldURL, o.URL, "--url"); err != nil {
		return err
	}
	if o.Auth == store.AuthToken {
		if err := set(gitlab.FieldToken, token, "token"); err != nil {
			return err
		}
	} else {
		if err := set(gitlab.FieldClientID, o.ClientID, "--client-id"); err != nil {
			return err
		}
		if err := set(gitlab.FieldScopes, o.Scopes, "--scopes"); err != nil {
			return err
		}
		if o.ClientSecretStdin {
			secret, err := a.readToken(connectOptions{TokenStdin: true, prompt: "Paste the application's Secret (input hidden): "})
			if err != nil {
				return err
			}
			flow.SetValue(gitlab.FieldClientSecret, secret)
		}
	}
	if o.CAFile != "" {
		flow.Revealed[gitlab.FieldCAFile] = true
		if err := set(gitlab.FieldCAFile, o.CAFile, "--ca-file"); err != nil {
			return err
		}
	}
	if q := flow.Question(gitlab.FieldURL); q != "" {
		if !o.AllowHTTP {
			return usageErr("%s is plain http: secrets would cross the network unencrypted; use https, or pass --allow-http", flow.Values[gitlab.FieldURL])
		}
		flow.Confirm(gitlab.FieldURL)
	}
	if o.Alias != "" {
		if err := flow.SetAlias(ctx, o.Alias); err != nil {
			return usageErr("--alias: %v", err)
		}
	} else if need, err := flow.AliasNeeded(ctx); err != nil {
		return err
	} else if need {
		return usageErr("the store already has a %s connection; name this one with --alias NAME (suggested: %s)", flow.Vendor.Name, flow.DefaultAlias(ctx))
	}

	return a.authorizeAndSave(ctx, flow, mode, o.JSON)
}

// authorizeAndSave ends connect and reconnect alike: authorize, store,
// print the summary.
func (a *App) authorizeAndSave(ctx context.Context, flow *flows.Connect, mode flows.OAuthMode, asJSON bool) error {
	v, err := a.authorize(flow, mode, asJSON)
	if err != nil {
		return err
	}
	conn, err := flow.Save(ctx)
	if err != nil {
		return err
	}
	if err := a.printConnected(flow, v, conn, asJSON); err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(a.Err, "Next: `onramp sync %s` takes the inventory (the wizard starts it by itself).\n", conn.Alias)
	}
	return nil
}

// authorize verifies a token, or runs an OAuth authorization.
func (a *App) authorize(flow *flows.Connect, mode flows.OAuthMode, quiet bool) (*flows.Verification, error) {
	if flow.Method.ID == store.AuthOAuth {
		return a.authorizeOAuth(flow, mode)
	}
	if !quiet {
		fmt.Fprintf(a.Err, "Verifying with %s …\n", flow.Values[gitlab.FieldURL])
	}
	v, err := flow.Authorize(context.Background())
	if err != nil {
		var se *flows.StepError
		if errors.As(err, &se) && se.Field == gitlab.FieldCAFile {
			return nil, fmt.Errorf("%s. Pass the CA certificate with --ca-file PATH", se.Message)
		}
		return nil, err
	}
	return v, nil
}

// printConnected prints the verification summary: text or --json.
func (a *App) printConnected(flow *flows.Connect, v *flows.Verification, conn *store.Connection, asJSON bool) error {
	row := flows.IntegrationOf(conn, a.Catalog, a.Now())
	if asJSON {
		var r connectResult
		r.Connection, r.Summary, r.Warnings = row, v.Summary(), v.Warnings
		if r.Warnings == nil {
			r.Warnings = []flows.Warning{}
		}
		r.Verification.Username, r.Verification.Admin = v.Account.Username, v.Account.Admin
		r.Verification.Version, r.Verification.Edition, r.Verification.Scopes = v.ServerVersion, v.ServerEdition, v.Scopes
		if v.ExpiresAt != nil {
			r.Verification.ExpiresAt = v.ExpiresAt.Format("2006-01-02")
		}
		return writeJSON(a.Out, r)
	}
	fmt.Fprintf(a.Out, "✓ Connected %s as %s\n", flow.Vendor.Name, conn.Alias)
	printSummary(a.Out, v.Summary())
	for _, w := range v.Warnings {
		fmt.Fprintf(a.Err, "! %s\n  %s\n", w.Message, w.Action)
	}
	return nil
}

func printSummary(w io.Writer, items []flows.SummaryItem) {
	width := 0
	for _, it := range items {
		width = max(width, len(it.Label))
	}
	for _, it := range items {
		fmt.Fprintf(w, "  %-*s  %s\n", width, it.Label, it.Value)
	}
}

// readToken takes the token from stdin (masked when it is a terminal) or a
// file, never from argv.
func (a *App) readToken(o connectOptions) (string, error) {
	if o.TokenFile != "" {
		if fi, err := os.Stat(o.TokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(a.Err, "! %s can be read by other users of this machine; consider: chmod 600 %s\n", o.TokenFile, o.TokenFile)
		}
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return "", usageErr("--token-file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if f, ok := a.In.(*os.File); ok && isTerminal(f) {
		prompt := o.prompt
		if prompt == "" {
			prompt = "Paste the access token (input hidden): "
		}
		fmt.Fprint(a.Err, prompt)
		b, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(a.Err)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := a.stdin().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", usageErr("standard input was empty: the secret is read from it")
	}
	return tok, nil
}

func vendorIDs(c flows.Catalog) string {
	var ids []string
	for _, v := range c {
		ids = append(ids, v.ID)
	}
	return strings.Join(ids, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
