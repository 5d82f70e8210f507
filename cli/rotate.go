package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// rotateOptions are `onramp rotate`'s arguments and flags.
type rotateOptions struct {
	Alias string
	// Auto sets automatic rotation (days before expiry; "off") instead of
	// rotating now.
	Auto string
	// Expires is the new token's expiry: a date or a lifetime (90d).
	Expires string
	// Resume clears an interrupted rotation the person checked on GitLab.
	Resume bool
	JSON   bool
}

func (a *App) newRotateCmd() *cobra.Command {
	o := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate ALIAS",
		Short: "Rotate a connection's token now, or set when it renews itself",
		Long: `Have the vendor replace the connection's token with a new one (GitLab
16.10+, a token with the api or self_rotate scope): the old token stops
working at once and the new one is stored in the same moment. The rotation
runs in the connection's sync job, whichever process holds it, and the sync
goes on with the new token, which proves it works; this command follows it.

A token that can rotate renews itself 7 days before it expires, for the
same lifetime as before; --auto changes how many days before, or turns it
off. --expires gives the new token another expiry (capped by the
instance's maximum: GitLab's refusal is shown).

When a rotation's answer was lost and nothing could tell whether GitLab
rotated the token, the connection needs reconnecting: onramp never sends
the old token again, which would revoke its successor too. If GitLab's
Access tokens page still lists the token as active, --resume says so.

Arguments:
  ALIAS   the connection's alias, or VENDOR/ALIAS`,
		Example: `  onramp rotate prod
  onramp rotate prod --expires 90d
  onramp rotate prod --auto 14d
  onramp rotate prod --auto off`,
		Args:              exactArgs("ALIAS"),
		ValidArgsFunction: a.completeAliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Alias = args[0]
			if o.Auto != "" && (o.Expires != "" || o.Resume) {
				return &exitError{code: ExitUsage, err: errors.New("--auto only sets when the token renews itself: give --expires or --resume without it"), usage: cmd}
			}
			return a.exec(cmd, o, func() error { return a.rotate(cmd.Context(), o) })
		},
	}
	cmd.Flags().StringVar(&o.Auto, "auto", "", "renew the token `DAYS` before it expires (7d by default), or off")
	cmd.Flags().StringVar(&o.Expires, "expires", "", "the new token's expiry: a `DATE` (2027-06-30) or a lifetime (90d)")
	cmd.Flags().BoolVar(&o.Resume, "resume", false, "after an interrupted rotation: the token is still active on GitLab, use it again")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the sync's progress as NDJSON, then nothing else")
	return cmd
}

// rotate sets automatic rotation, or asks for a rotation now and follows
// the sync job that carries it.
func (a *App) rotate(ctx context.Context, o *rotateOptions) error {
	st, c, err := a.openConnection(ctx, o.Alias)
	if err != nil {
		return err
	}
	defer st.Close()
	alias := textsafe.Line(c.Alias)
	switch {
	case c.Rotation == nil:
		return fmt.Errorf("%s's credential cannot be rotated by onramp (%s)", alias, cannotRotate(c))
	case o.Resume:
		return a.resumeRotation(ctx, st, c)
	case c.Rotation.Cannot != "":
		return fmt.Errorf("%s's token cannot renew itself: %s", alias, c.Rotation.Cannot)
	case o.Auto != "":
		return a.setAutoRotation(ctx, st, c, o.Auto)
	case c.State == store.StateNeedsReconnect:
		return fmt.Errorf("%s needs to be reconnected: %s (onramp reconnect %s)", alias, textsafe.Line(c.StateReason), alias)
	}
	now := a.Now()
	var expires *time.Time
	if o.Expires != "" {
		if expires, err = parseExpiry(o.Expires, now); err != nil {
			return err
		}
	}
	asked := now.UTC()
	if err := flows.RequestRotation(ctx, st, c.ID, now, expires); err != nil {
		return err
	}
	if !o.JSON {
		fmt.Fprintf(a.Err, "Rotating %s's token in its sync job…\n", alias)
	}
	syncErr := a.syncCmd(ctx, &syncOptions{Alias: o.Alias, JSON: o.JSON})
	after, err := st.Get(context.WithoutCancel(ctx), c.ID)
	if err != nil {
		return err
	}
	r := after.Rotation
	switch {
	case after.State == store.StateNeedsReconnect:
		return fmt.Errorf("%s needs to be reconnected: %s", alias, textsafe.Line(after.StateReason))
	case r != nil && r.LastRotated != nil && !r.LastRotated.Before(asked):
		if !o.JSON {
			fmt.Fprintf(a.Err, "Rotated: %s's new token expires on %s; it renews %s.\n", alias,
				after.ExpiresAt.UTC().Format("2006-01-02"), textsafe.Line(connector.RenewalLine(r, after.ExpiresAt)))
		}
		return syncErr
	case r != nil && r.LastRefusal != "" && r.RequestedAt == nil:
		return fmt.Errorf("%s's token was not rotated: %s", alias, textsafe.Line(r.LastRefusal))
	case syncErr != nil:
		return syncErr
	}
	return fmt.Errorf("%s's token was not rotated yet: the sync that carries the rotation ended first; it rotates in its next sync", alias)
}

// cannotRotate says why a connection without a rotation record has none.
func cannotRotate(c *store.Connection) string {
	if c.AuthMethod == store.AuthOAuth {
		return "an OAuth grant renews itself with its refresh token"
	}
	return "its vendor has no token rotation, or it was connected before onramp knew it: reconnect to check"
}

// setAutoRotation sets how many days before expiry the token rotates.
func (a *App) setAutoRotation(ctx context.Context, st store.Backend, c *store.Connection, auto string) error {
	days := 0
	if !strings.EqualFold(auto, "off") {
		n, err := strconv.Atoi(strings.TrimSuffix(auto, "d"))
		if err != nil || n < 1 || n > 90 {
			return usageErr("--auto is a number of days before expiry, from 1d to 90d, or off")
		}
		days = n
	}
	c, err := st.Update(ctx, c.ID, func(cur *store.Connection) error {
		cur.Rotation.LeadDays = days
		cur.Rotation.LastRefusal = ""
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "%s's token renews %s.\n", textsafe.Line(c.Alias), textsafe.Line(connector.RenewalLine(c.Rotation, c.ExpiresAt)))
	return nil
}

// resumeRotation clears an interrupted rotation's "needs reconnect" once the
// person has seen on GitLab that the token was never rotated.
func (a *App) resumeRotation(ctx context.Context, st store.Backend, c *store.Connection) error {
	alias := textsafe.Line(c.Alias)
	_, err := st.UpdateAndSync(ctx, c.ID, func(cur *store.Connection) error {
		if cur.State != store.StateNeedsReconnect || !strings.HasPrefix(cur.StateReason, "rotation interrupted") {
			return fmt.Errorf("%s has no interrupted rotation to resume", alias)
		}
		cur.State, cur.StateReason = store.StateConnected, ""
		cur.Rotation.InFlight, cur.Rotation.RequestedAt = nil, nil
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Err, "%s uses its token again; a sync is on its way. If GitLab had rotated it, that sync says so and the connection needs reconnecting.\n", alias)
	return nil
}

// parseExpiry reads --expires: a date, or a lifetime in days from today.
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		n, nerr := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if nerr != nil || !strings.HasSuffix(s, "d") {
			return nil, usageErr("--expires is a date like 2027-06-30 or a lifetime like 90d")
		}
		t = today.AddDate(0, 0, n)
	}
	if !t.After(today) {
		return nil, usageErr("--expires must be after today (%s)", today.Format("2006-01-02"))
	}
	return &t, nil
}
