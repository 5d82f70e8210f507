package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/internal/version"
	"github.com/onramp-dev/onramp/store"
)

// Notification kinds: what an operator is told without opening onramp.
const (
	EventNeedsReconnect = "needs_reconnect"
	EventExpiresSoon    = "credential_expires_soon"
	EventSyncFailed     = "sync_failed"
	EventSyncRecovered  = "sync_recovered"
)

// expiryThresholds are the days before a credential's expiry at which
// someone is told (once each).
var expiryThresholds = []int{14, 3, 1}

// Event is a notification as it is sent: Text for a chat tool's incoming
// webhook (Slack, Mattermost, Google Chat and others show it), the rest
// for whatever reads JSON. It never carries a secret.
type Event struct {
	Text       string          `json:"text"`
	Kind       string          `json:"event"`
	Connection EventConnection `json:"connection"`
	Message    string          `json:"message"`
	Action     string          `json:"action,omitempty"`
	At         time.Time       `json:"at"`
	ExpiresAt  *time.Time      `json:"expires_at,omitempty"`
}

// EventConnection names the connection an event is about.
type EventConnection struct {
	ID     string `json:"id"`
	Alias  string `json:"alias"`
	Vendor string `json:"vendor"`
	Host   string `json:"host"`
}

// notify records an event for the connection (once for its occasion).
func (s *Syncer) notify(ctx context.Context, c *store.Connection, kind, occasion, message, action string, expires *time.Time) {
	name := c.Vendor
	if v := s.Catalog.Vendor(c.Vendor); v != nil {
		name = v.Name
	}
	e := Event{Kind: kind, Message: textsafe.Line(message), Action: action, At: s.now().UTC(), ExpiresAt: expires,
		Connection: EventConnection{ID: c.ID, Alias: textsafe.Line(c.Alias), Vendor: c.Vendor, Host: textsafe.Line(hostOf(c.BaseURL))}}
	e.Text = fmt.Sprintf("onramp: %s connection %s (%s): %s", name, e.Connection.Alias, e.Connection.Host, e.Message)
	if action != "" {
		e.Text += " " + action
	}
	body, err := json.Marshal(e)
	if err == nil {
		_, err = s.Store.Notify(context.WithoutCancel(ctx), store.Notification{ConnectionID: c.ID, Kind: kind, Occasion: occasion, Event: body})
	}
	if err != nil && s.Log != nil {
		s.Log.Warn("could not record a notification", "connection", c.ID, "event", kind, "err", err)
	}
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// tell records what a sync job's outcome is worth telling: the connection
// needs reconnecting, the sync failed for good, or it syncs again after
// failing.
func (s *Syncer) tell(ctx context.Context, connectionID, outcome string) {
	if outcome != OutcomeNeedsReconnect && outcome != OutcomeFailed && outcome != OutcomeSucceeded {
		return
	}
	ctx = context.WithoutCancel(ctx)
	c, err := s.Store.Get(ctx, connectionID)
	if err != nil {
		return
	}
	runs, _ := s.Store.Runs(ctx, connectionID, 2)
	switch {
	case outcome == OutcomeNeedsReconnect && c.State == store.StateNeedsReconnect:
		s.notify(ctx, c, EventNeedsReconnect, "revision "+strconv.FormatInt(c.Revision, 10), "needs reconnecting: "+c.StateReason,
			"Run `onramp reconnect "+textsafe.Line(c.Alias)+"`.", nil)
	case outcome == OutcomeFailed && len(runs) > 0:
		s.notify(ctx, c, EventSyncFailed, "run "+strconv.FormatInt(runs[0].ID, 10), "its sync failed after its last retry: "+runs[0].Error,
			"`onramp status "+textsafe.Line(c.Alias)+"` says more; the next periodic sync tries again.", nil)
	case outcome == OutcomeSucceeded && len(runs) == 2 && runs[1].Status == store.RunFailed:
		s.notify(ctx, c, EventSyncRecovered, "run "+strconv.FormatInt(runs[0].ID, 10),
			fmt.Sprintf("syncs again: %s synced after a failed sync.", humanize.Count(runs[0].Users, "user")), "", nil)
	}
}

// watchExpiry tells, once per threshold, of credentials that expire within
// 14, 3 and 1 days (the smallest threshold reached: a credential first seen
// 2 days from its expiry is told once, at 3). Every worker watches; the
// store keeps each event once.
func (s *Syncer) watchExpiry(ctx context.Context, every time.Duration) {
	for {
		s.checkExpiry(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (s *Syncer) checkExpiry(ctx context.Context) {
	conns, err := s.Store.List(ctx, store.ListOptions{})
	if err != nil {
		return
	}
	now := s.now()
	for i := range conns {
		c := &conns[i]
		if c.ExpiresAt == nil || c.State == store.StateNeedsReconnect {
			continue
		}
		if c.RotationDue(now) {
			s.Store.EnqueueSync(ctx, c.ID) // the token rotates in its sync job
		}
		days := connector.DaysLeft(*c.ExpiresAt, now)
		if c.RotatesAt() != nil && c.Rotation.LastRefusal == "" && days >= c.Rotation.LeadDays {
			continue // it renews itself before then; a person hears only if that fails
		}
		threshold := 0
		for _, t := range expiryThresholds {
			if days <= t {
				threshold = t
			}
		}
		if threshold == 0 || days < 0 {
			continue
		}
		s.notify(ctx, c, EventExpiresSoon, fmt.Sprintf("%d days before %s", threshold, c.ExpiresAt.UTC().Format(time.RFC3339)),
			fmt.Sprintf("its credential expires on %s (%s).", c.ExpiresAt.UTC().Format("2006-01-02"), humanize.Days(days)),
			"Create a new one, then run `onramp reconnect "+textsafe.Line(c.Alias)+"`.", c.ExpiresAt)
	}
}

// webhookClient follows no redirect: a webhook answers where it is.
var webhookClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Deliver sends one event to one target: a webhook gets it as a JSON POST
// (a 2xx answer delivers it), a command on its standard input (exit 0
// delivers it). An error is retried with backoff by the queue; it never
// names the target, whose address or words may hold a secret.
func Deliver(ctx context.Context, d store.Delivery) error {
	switch d.TargetKind {
	case store.NotifyWebhook:
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target.Reveal(), bytes.NewReader(d.Event))
		if err != nil {
			return fmt.Errorf("the webhook's address is not valid")
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Onramp-Event", strconv.FormatInt(d.NotificationID, 10)) // the same for a repeat
		req.Header.Set("User-Agent", version.UserAgent())
		resp, err := webhookClient.Do(req)
		if err != nil {
			return errors.New("the webhook did not answer") // the error would name its address
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("the webhook answered %s", resp.Status)
		}
		return nil
	case store.NotifyCommand:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", d.Target.Reveal())
		cmd.Stdin = bytes.NewReader(d.Event)
		cmd.Env = append(commandEnv(), "ONRAMP_EVENT="+d.Kind, "ONRAMP_EVENT_ID="+strconv.FormatInt(d.NotificationID, 10))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("the notify command failed (%v)", err)
		}
		return nil
	}
	return fmt.Errorf("unknown notification target kind %q", d.TargetKind)
}

// commandEnv is this process's environment without what opens the store
// (a notify command needs none of it).
func commandEnv() []string {
	var out []string
	for _, e := range os.Environ() {
		name, _, _ := strings.Cut(e, "=")
		switch name {
		case "PGPASSWORD", "ONRAMP_STORE", "ONRAMP_KEY_COMMAND", "ONRAMP_PASSPHRASE_COMMAND":
			continue
		}
		out = append(out, e)
	}
	return out
}
