package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/flows"
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
	// fields are the flags of the cards' own fields; given
	// what was set of them, by flag name (tests).
	fields fieldFlags
	given  map[string]string
	// Wait bounds how long verification waits on someone else (an upload,
	// an administrator's consent).
	Wait time.Duration
	// prompt is what a terminal shows before a masked read.
	prompt string
	// tokenEnv is the variable the token comes from, when no flag gives it.
	tokenEnv string
	// argvSecret holds --token/--client-secret, refused when given.
	argvSecret string
}

func (a *App) newConnectCmd() *cobra.Command {
	o := &connectOptions{}
	cmd := &cobra.Command{
		Use:   "connect VENDOR [--url URL] (--token-stdin | --token-file PATH | --auth oauth --client-id ID | --auth METHOD …)",
		Short: "Connect a vendor without the wizard: the same checks, for scripts",
		Long: `Connect a vendor from a script: the wizard's flow without a terminal — the
same URL checks, verification, summary and warnings. Secrets are read from
standard input or a file, never from arguments; without either, a token is
taken from the variable the vendor's own CLI reads (GITLAB_TOKEN as glab;
GH_TOKEN or GITHUB_TOKEN as gh). A second connection to the same vendor needs
--alias. A card's own fields have flags of their own; what onramp generates
(a certificate) is written where its --KEY-out flag says, and verification
waits (--wait) while it is uploaded and an administrator grants consent.

Arguments:
  VENDOR   the catalog's vendor id: ` + strings.ReplaceAll(vendorIDs(a.Catalog), " or ", ", "),
		Example: connectExamples(a.Catalog),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("onramp connect needs VENDOR (vendors: %s)", vendorIDs(a.Catalog)), usage: cmd}
			}
			return exactArgs("VENDOR")(cmd, args)
		},
		ValidArgsFunction: a.completeVendors,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Vendor = args[0]
			return a.exec(cmd, o, func() error { return a.connect(cmd.Context(), o) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "the server's `URL`, e.g. https://gitlab.example.com or https://github.com (required where the vendor has one)")
	f.StringVar(&o.Auth, "auth", "", "auth `METHOD`: "+methodsByVendor(a.Catalog)+" (default: token where a vendor takes one, else its recommended method)")
	f.DurationVar(&o.Wait, "wait", 15*time.Minute, "how long verification waits for an upload or an administrator's consent (0: not at all)")
	o.fields = registerFieldFlags(f, a.Catalog, true)
	f.BoolVar(&o.TokenStdin, "token-stdin", false, "read the token from standard input")
	f.StringVar(&o.TokenFile, "token-file", "", "read the token from the file at `PATH`")
	f.StringVar(&o.ClientID, "client-id", "", "the OAuth application's or app registration's `ID`")
	f.BoolVar(&o.ClientSecretStdin, "client-secret-stdin", false, "read the OAuth application's or app's client secret from standard input")
	f.StringVar(&o.Scopes, "scopes", "", "OAuth `SCOPES`, space-separated (default: the vendor card's)")
	f.StringVar(&o.Flow, "flow", "", "OAuth flow `MODE`: browser, device or paste (default: browser here, device over SSH)")
	f.StringVar(&o.Alias, "alias", "", "the connection's alias `NAME`")
	f.StringVar(&o.CAFile, "ca-file", "", "CA certificate file (PEM) at `PATH`, for a server with a private CA")
	f.BoolVar(&o.AllowHTTP, "allow-http", false, "allow plain http to a host other than this machine")
	f.BoolVar(&o.JSON, "json", false, "print JSON: the connection, summary and warnings")
	// Refused with a reason rather than "unknown flag": people try them.
	f.StringVar(&o.argvSecret, "token", "", "refused: a token never goes in arguments")
	f.StringVar(&o.argvSecret, "client-secret", "", "refused: a secret never goes in arguments")
	f.MarkHidden("token")
	f.MarkHidden("client-secret")
	cmd.RegisterFlagCompletionFunc("auth", fixed("token", "oauth"))
	cmd.RegisterFlagCompletionFunc("flow", fixed("browser", "device", "paste"))
	cmd.MarkFlagFilename("token-file")
	cmd.MarkFlagFilename("ca-file", "pem", "crt")
	return cmd
}

// connect runs the wizard's flow without a terminal: same code, same summary.
func (a *App) connect(ctx context.Context, o *connectOptions) error {
	if o.argvSecret != "" {
		return usageErr("a secret on the command line is visible to every user of this machine; use --token-stdin, --token-file or --client-secret-stdin")
	}
	// Every flag is checked before anything is read or opened, so a script
	// learns of its mistakes before any secret is read.
	vendor := a.Catalog.Vendor(o.Vendor)
	if vendor == nil {
		return usageErr("no vendor %q in the catalog (vendors: %s)", o.Vendor, vendorIDs(a.Catalog))
	}
	if o.Auth == "" {
		o.Auth = defaultMethod(vendor)
	}
	method := vendor.Method(o.Auth)
	if method == nil {
		return usageErr("%s connects with --auth %s", vendor.Name, methodIDs(vendor))
	}
	remote := flows.IsRemote(a.Getenv)
	var mode flows.OAuthMode
	switch method.Kind {
	case flows.MethodToken:
		if o.TokenStdin && o.TokenFile != "" {
			return usageErr("give the token with exactly one of --token-stdin or --token-file")
		}
		if !o.TokenStdin && o.TokenFile == "" {
			env := vendor.Method(o.Auth).TokenEnv
			for _, name := range env {
				if a.Getenv(name) != "" {
					o.tokenEnv = name
					break
				}
			}
			if o.tokenEnv == "" {
				from := "--token-stdin or --token-file"
				if len(env) > 0 {
					from = "--token-stdin, --token-file or " + strings.Join(env, " or ")
				}
				return usageErr("give the token with %s", from)
			}
			fmt.Fprintf(a.Err, "Using the token in %s.\n", o.tokenEnv)
		}
	case flows.MethodOAuth:
		if o.ClientID == "" {
			return usageErr("--auth oauth needs --client-id (the OAuth application's ID from %s)", vendor.Name)
		}
		m, err := parseMode(o.Flow, remote)
		if err != nil {
			return err
		}
		mode = m
	case flows.MethodApp:
		if g := generated(method); g != nil && o.fields.outPath(g.Key) == "" {
			return usageErr("--auth %s needs --%s-out PATH: where to write the %s to upload", o.Auth, flagName(g.Key), strings.ToLower(g.Label))
		}
		if f := method.Field(flows.FieldClientSecret); f != nil && !f.Optional && !o.ClientSecretStdin {
			return usageErr("--auth %s needs --client-secret-stdin: the secret is read from standard input", o.Auth)
		}
	}
	if o.URL == "" && method.Field(flows.FieldURL) != nil {
		// No silent default: a token for a self-managed instance must not be
		// sent to GitLab.com because a flag was forgotten.
		example := ""
		if f := vendor.Method(o.Auth).Field(flows.FieldURL); f != nil && f.Default != "" {
			if u, err := url.Parse(f.Default); err == nil {
				example = " (" + f.Default + " for " + u.Host + ")"
			}
		}
		return usageErr("--url is required: your %s's address%s", vendor.Name, example)
	}
	var token string
	if method.Kind == flows.MethodToken {
		t, err := a.readToken(*o)
		if err != nil {
			return err
		}
		token = t
	}

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
	if err := set(flows.FieldURL, o.URL, "--url"); err != nil {
		return err
	}
	if err := o.fields.apply(flow); err != nil {
		return err
	}
	if method.Kind == flows.MethodToken {
		if err := set(flows.FieldToken, token, "token"); err != nil {
			return err
		}
	} else {
		if err := set(flows.FieldClientID, o.ClientID, "--client-id"); err != nil {
			return err
		}
		if err := set(flows.FieldScopes, o.Scopes, "--scopes"); err != nil {
			return err
		}
		if o.ClientSecretStdin {
			secret, err := a.readToken(connectOptions{TokenStdin: true, prompt: "Paste the application's Secret (input hidden): "})
			if err != nil {
				return err
			}
			if err := set(flows.FieldClientSecret, secret, "client secret"); err != nil {
				return err
			}
		}
	}
	if err := flow.CheckFields(); err != nil && method.Kind == flows.MethodApp {
		var se *flows.StepError
		if errors.As(err, &se) && se.Field != "" && flow.Question(se.Field) == "" {
			return usageErr("--%s: %s", flagName(se.Field), se.Message)
		}
	}
	if err := a.writePublic(flow, o.fields); err != nil {
		return err
	}
	if o.CAFile != "" {
		flow.Reveal(flows.FieldCAFile)
		if err := set(flows.FieldCAFile, o.CAFile, "--ca-file"); err != nil {
			return err
		}
	}
	if q := flow.Question(flows.FieldURL); q != "" {
		if !o.AllowHTTP {
			return usageErr("%s is plain http: secrets would cross the network unencrypted; use https, or pass --allow-http", flow.Values[flows.FieldURL])
		}
		flow.Confirm(flows.FieldURL)
	}
	// The wizard's sequence: after the fields, an alias when the store
	// already has a connection of this vendor.
	if o.Alias != "" {
		if err := flow.SetAlias(ctx, o.Alias); err != nil {
			return usageErr("--alias: %v", err)
		}
	} else if plan, err := flow.AliasCheck().Run(ctx, time.Now()); err != nil {
		return err
	} else if flow.Next(flows.StepFields, plan) == flows.StepAlias {
		return usageErr("the store already has a %s connection; name this one with --alias NAME (suggested: %s)", flow.Vendor.Name, plan.Default)
	}

	return a.authorizeAndSave(ctx, flow, mode, o)
}

// authorizeAndSave ends connect and reconnect alike: authorize, store,
// print the summary.
func (a *App) authorizeAndSave(ctx context.Context, flow *flows.Connect, mode flows.OAuthMode, o *connectOptions) error {
	asJSON := o.JSON
	v, err := a.authorize(flow, mode, o)
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

// authorize verifies a token or an app's credential, or runs an OAuth
// authorization.
func (a *App) authorize(flow *flows.Connect, mode flows.OAuthMode, o *connectOptions) (*flows.Verification, error) {
	if flow.Method.Kind == flows.MethodOAuth {
		return a.authorizeOAuth(flow, mode)
	}
	if !o.JSON {
		fmt.Fprintf(a.Err, "Verifying with %s …\n", flow.Address().Host())
	}
	v, err := a.authorizeWaiting(flow, o.Wait, o.JSON)
	if err != nil {
		var se *flows.StepError
		if errors.As(err, &se) && se.Field == flows.FieldCAFile {
			return nil, fmt.Errorf("%s. Pass the CA certificate with --ca-file PATH", se.Message)
		}
		return nil, err
	}
	return v, nil
}

// printConnected prints the verification summary: text or --json.
func (a *App) printConnected(flow *flows.Connect, v *flows.Verification, conn *store.Connection, asJSON bool) error {
	if asJSON {
		r := Result{Connection: a.connectionJSON(conn), Summary: v.Summary(), Warnings: v.Warnings}
		if r.Warnings == nil {
			r.Warnings = []flows.Warning{}
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

// readToken takes the token from the vendor's variable (connect found it),
// stdin (masked when it is a terminal) or a file, never from argv.
func (a *App) readToken(o connectOptions) (string, error) {
	if o.tokenEnv != "" {
		return strings.TrimSpace(a.Getenv(o.tokenEnv)), nil
	}
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

// defaultMethod is the method connect uses without --auth: a token where
// the vendor takes one (as before there was another kind), else the
// recommended one.
func defaultMethod(v *flows.Vendor) string {
	if v.Method(store.AuthToken) != nil {
		return store.AuthToken
	}
	for _, m := range v.Methods {
		if m.Recommended {
			return m.ID
		}
	}
	return v.Methods[0].ID
}

// methodsByVendor lists each vendor's methods: "gitlab: token, oauth; …".
func methodsByVendor(cat flows.Catalog) string {
	var out []string
	for _, v := range cat {
		var ids []string
		for _, m := range v.Methods {
			ids = append(ids, m.ID)
		}
		out = append(out, v.ID+": "+strings.Join(ids, ", "))
	}
	return strings.Join(out, "; ")
}

// connectExamples are the cards' own command lines.
func connectExamples(cat flows.Catalog) string {
	var b strings.Builder
	for _, v := range cat {
		for _, e := range v.Examples {
			b.WriteString("  " + e + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func methodIDs(v *flows.Vendor) string {
	var ids []string
	for _, m := range v.Methods {
		ids = append(ids, m.ID)
	}
	return strings.Join(ids, " or ")
}

func vendorIDs(c flows.Catalog) string {
	var ids []string
	for _, v := range c {
		ids = append(ids, v.ID)
	}
	return strings.Join(ids, ", ")
}
