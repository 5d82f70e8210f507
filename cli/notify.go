package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"charm.land/log/v2"
	"github.com/spf13/pflag"

	"github.com/onramp-dev/onramp/store"
)

// notifyOptions are the --notify flags of worker and serve.
type notifyOptions struct {
	Webhooks, Commands []string
}

func (o *notifyOptions) flags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.Webhooks, "notify", nil, "send events (a connection needs reconnecting, a credential expires soon, a sync failed or recovered) to the webhook `URL` as JSON; @FILE or - (stdin) keep the URL out of the process list (repeatable)")
	f.StringArrayVar(&o.Commands, "notify-command", nil, "run `CMD` with each event as JSON on stdin; @FILE reads the command from a file (repeatable)")
}

// register keeps the targets in the store, sealed like secrets: whichever
// worker of the team delivers an event reads them there. Only their labels
// (a webhook's scheme and host) are logged.
func (a *App) registerNotify(ctx context.Context, o *notifyOptions, st store.Backend, logger *log.Logger) error {
	for _, kind := range []string{store.NotifyWebhook, store.NotifyCommand} {
		values := o.Webhooks
		if kind == store.NotifyCommand {
			values = o.Commands
		}
		for _, v := range values {
			value, inArgs, err := a.flagValue(v)
			if err != nil {
				return err
			}
			if kind == store.NotifyWebhook {
				u, err := url.Parse(value)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return usageErr("--notify needs an http(s) URL (%s is not one)", store.RedactURL(value))
				}
				if inArgs && (u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil) {
					logger.Warn("the webhook's address is in this process's arguments, where other users of this machine can read it: give it as --notify @FILE or --notify - instead", "webhook", store.RedactURL(value))
				}
			}
			t, err := st.AddNotifyTarget(ctx, kind, value)
			if err != nil {
				return err
			}
			logger.Info("notifying", "target", t.Label, "id", t.ID)
		}
	}
	return nil
}

// flagValue reads a flag's value from a file (@FILE) or standard input
// (-); inArgs says it was given in the arguments themselves.
func (a *App) flagValue(v string) (value string, inArgs bool, err error) {
	switch {
	case v == "-":
		line, err := a.stdin().ReadString('\n')
		if err != nil && line == "" {
			return "", false, errors.New("--notify -: nothing on standard input")
		}
		return strings.TrimSpace(line), false, nil
	case strings.HasPrefix(v, "@"):
		f, err := os.Open(v[1:])
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", v[1:], err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Scan()
		return strings.TrimSpace(sc.Text()), false, nil
	}
	return v, true, nil
}
