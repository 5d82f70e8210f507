package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/pkg/browser"

	"github.com/onramp-dev/onramp/flows"
)

// openBrowser launches the system browser without letting it write on our
// terminal (pkg/browser runs xdg-open, open or start).
func openBrowser(url string) error {
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

// flowDeps are the flow dependencies every command shares.
func (a *App) flowDeps() flows.Deps {
	return flows.Deps{Catalog: a.Catalog, Now: a.Now, Remote: flows.IsRemote(a.Getenv), OpenBrowser: openBrowser}
}

// parseMode reads --flow; empty means the mode that works where we are.
func parseMode(s string, remote bool) (flows.OAuthMode, error) {
	if s == "" {
		return flows.DefaultOAuthMode(remote), nil
	}
	for _, m := range flows.OAuthModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", usageErr("--flow is one of browser, device, paste")
}

// authorizeOAuth runs an authorization without the TUI: addresses and codes
// go to stderr; pasted addresses are read from stdin; ctrl+c aborts.
func (a *App) authorizeOAuth(flow *flows.Connect, mode flows.OAuthMode) (*flows.Verification, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	att, err := flow.StartOAuth(ctx, mode)
	if err != nil {
		return nil, err
	}
	defer att.Close()
	if note := att.OpenBrowser(); note != "" {
		att.Mode, att.Note = flows.ModePaste, note
	}
	if att.Note != "" {
		fmt.Fprintln(a.Err, "! "+att.Note)
	}
	switch {
	case att.Device != nil:
		fmt.Fprintf(a.Err, "Open %s on any device and enter the code:\n\n    %s\n\n", att.Device.VerificationURI, formatUserCode(att.Device.UserCode))
		if att.Device.VerificationURIComplete != "" {
			fmt.Fprintf(a.Err, "(or open %s)\n", att.Device.VerificationURIComplete)
		}
		fmt.Fprintf(a.Err, "Waiting for the approval in %s…\n", flow.Vendor.Name)
	default:
		if att.Mode == flows.ModeBrowser {
			fmt.Fprintf(a.Err, "Your browser was opened to authorize onramp in %s. If it did not open, use this address:\n", flow.Vendor.Name)
		} else {
			fmt.Fprintln(a.Err, "Open this address in a browser, on any machine, and authorize onramp:")
		}
		fmt.Fprintf(a.Err, "\n  %s\n\n", att.AuthURL)
		fmt.Fprintln(a.Err, "The browser then tries to load http://127.0.0.1:…/onramp/callback, which fails to load on another machine:")
		fmt.Fprintln(a.Err, "copy that whole address from its address bar and paste it here, then press enter.")
		if att.Tunnel != "" {
			fmt.Fprintf(a.Err, "Or forward the port first, and it completes by itself:  %s\n", att.Tunnel)
		}
		go a.readPastes(att)
	}
	tok, err := att.Wait(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, abortErr()
		}
		return nil, err
	}
	return flow.FinishOAuth(context.Background(), tok)
}

func (a *App) readPastes(att *flows.OAuthAttempt) {
	for {
		line, err := a.readPasteLine()
		if err != nil && line == "" {
			return
		}
		if line == "" {
			continue
		}
		if err := att.Paste(line); err != nil {
			fmt.Fprintln(a.Err, "✗ "+err.Error())
			continue
		}
		return
	}
}

// readPasteLine reads one pasted address; on a terminal without echo, since
// the address carries the authorization code.
func (a *App) readPasteLine() (string, error) {
	if f, ok := a.In.(*os.File); ok && isTerminal(f) {
		b, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(a.Err)
		return strings.TrimSpace(string(b)), err
	}
	raw, err := a.stdin().ReadString('\n')
	return strings.TrimSpace(raw), err
}

// formatUserCode shows an 8-character code as XXXX-XXXX, easier to type.
func formatUserCode(c string) string {
	if len(c) == 8 {
		return c[:4] + "-" + c[4:]
	}
	return c
}
