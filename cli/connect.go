package cli

import (
	"bufio"
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
	URL        string
	Alias      string
	TokenStdin bool
	TokenFile  string
	CAFile     string
	AllowHTTP  bool
	JSON       bool
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
	fs.StringVar(&o.URL, "url", "", "server URL")
	fs.StringVar(&o.Alias, "alias", "", "connection alias")
	fs.BoolVar(&o.TokenStdin, "token-stdin", false, "read the token from standard input")
	fs.StringVar(&o.TokenFile, "token-file", "", "read the token from a file")
	fs.StringVar(&o.CAFile, "ca-file", "", "CA certificate (PEM) for a private CA")
	fs.BoolVar(&o.AllowHTTP, "allow-http", false, "allow plain http to a host other than this machine")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	fs.String("token", "", "refused: tokens never go in argv")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.Lookup("token").Value.String() != "" {
		return usageErr("a token on the command line is visible to every user of this machine; use --token-stdin or --token-file")
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if o.TokenStdin == (o.TokenFile != "") {
		return usageErr("give the token with exactly one of --token-stdin or --token-file")
	}
	token, err := a.readToken(o)
	if err != nil {
		return err
	}

	ctx := context.Background()
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	flow := flows.NewConnect(flows.Deps{Catalog: a.Catalog, Store: st, Now: a.Now})
	if err := flow.ChooseVendor(o.Vendor); err != nil {
		return usageErr("%v (vendors: %s)", err, vendorIDs(a.Catalog))
	}
	if err := flow.ChooseMethod(store.AuthToken); err != nil {
		return usageErr("%v", err)
	}
	if o.URL != "" {
		if err := flow.SetValue(gitlab.FieldURL, o.URL); err != nil {
			return usageErr("--url: %v", err)
		}
	}
	if err := flow.SetValue(gitlab.FieldToken, token); err != nil {
		return usageErr("token: %v", err)
	}
	if o.CAFile != "" {
		flow.Revealed[gitlab.FieldCAFile] = true
		if err := flow.SetValue(gitlab.FieldCAFile, o.CAFile); err != nil {
			return usageErr("--ca-file: %v", err)
		}
	}
	if q := flow.Question(gitlab.FieldURL); q != "" {
		if !o.AllowHTTP {
			return usageErr("%s is plain http: the token would cross the network unencrypted; use https, or pass --allow-http", flow.Values[gitlab.FieldURL])
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

	if !o.JSON {
		fmt.Fprintf(a.Err, "Verifying with %s …\n", flow.Values[gitlab.FieldURL])
	}
	v, err := flow.Authorize(ctx)
	if err != nil {
		var se *flows.StepError
		if errors.As(err, &se) && se.Field == gitlab.FieldCAFile {
			return fmt.Errorf("%s. Pass the CA certificate with --ca-file PATH", se.Message)
		}
		return err
	}
	conn, err := flow.Save(ctx)
	if err != nil {
		return err
	}
	row := flows.IntegrationOf(conn, a.Catalog, a.Now())
	if o.JSON {
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
		fmt.Fprint(a.Err, "Paste the access token (input hidden): ")
		b, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(a.Err)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(io.LimitReader(a.In, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", usageErr("--token-stdin: standard input was empty")
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
