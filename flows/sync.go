package flows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// SyncStore is the store as the sync needs it: connections, inventory and
// the job queue syncs run in.
type SyncStore interface {
	store.Store
	store.Inventory
	store.Jobs
	store.Leases
}

// Progress is one event of a sync, for the Integrations page, `onramp sync`
// and its NDJSON output.
type Progress struct {
	ConnectionID string        `json:"connection_id"`
	Alias        string        `json:"alias,omitempty"` // sync --all names each connection
	RunID        int64         `json:"run_id"`
	Status       string        `json:"status"` // running | succeeded | failed | stopped
	Resumed      bool          `json:"resumed,omitempty"`
	Users        int           `json:"users"`
	Pages        int           `json:"pages"`
	Retries      int           `json:"retries"`
	Total        *int          `json:"total,omitempty"`
	Rate         float64       `json:"users_per_second"`
	ETA          time.Duration `json:"eta_ns,omitempty"`
	View         string        `json:"view,omitempty"`
	Note         string        `json:"note,omitempty"`
	Error        string        `json:"error,omitempty"`
	Seats        []store.Seats `json:"seats,omitempty"`
	// Worker names the process that runs the sync, when not this one.
	Worker string `json:"worker,omitempty"`
}

// Fraction is how far the sync is, or -1 when the total is unknown.
func (p Progress) Fraction() float64 {
	if p.Total == nil || *p.Total == 0 {
		return -1
	}
	return min(float64(p.Users)/float64(*p.Total), 1)
}

// checkpointDone marks a run whose last page is saved (seats and finishing
// may remain).
const checkpointDone = "done:"

// Syncer runs inventory syncs, as jobs of the store's queue (one per
// connection at a time, across processes and machines); a stopped or
// killed sync resumes from its checkpoint.
type Syncer struct {
	Store   SyncStore
	Catalog Catalog
	Now     func() time.Time
	// NewHTTP builds the client; httpx.New by default.
	NewHTTP func(httpx.Options) (*http.Client, error)
	// Slice bounds one run of a sync job (sliceLength by default);
	// RescueAfter is when a job whose worker died runs again (one hour by
	// default). Tests shorten both.
	Slice, RescueAfter time.Duration
	// Lease is how long a worker's lease lasts unrenewed (15 s by default):
	// past it, its syncs are taken over.
	Lease time.Duration
	// OnProgress, when set, receives the events of syncs this process runs
	// (`onramp sync` shows them as they happen).
	OnProgress func(Progress)
	// Log, when set, records each sync job's start and outcome.
	Log *slog.Logger
	// Limits bound what a server can make one sync do (DefaultLimits where
	// zero).
	Limits Limits
	// Observer, when set, is told what the syncs do (metrics).
	Observer SyncObserver
	// ExpiryEvery is how often a worker looks for credentials about to
	// expire, to tell someone (10 minutes by default; and at its start).
	ExpiryEvery time.Duration
}

// Sync runs (or resumes) a sync of the connection, reporting progress.
func (s *Syncer) Sync(ctx context.Context, connectionID string, progress func(Progress)) (*store.SyncRun, error) {
	conn, err := s.Store.Get(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	if conn.State == store.StateNeedsReconnect {
		return nil, fmt.Errorf("%w: %s", ErrNeedsReconnect, conn.StateReason)
	}
	vendor := s.Catalog.Vendor(conn.Vendor)
	if vendor == nil {
		return nil, fmt.Errorf("%w: connection %s is for %q, which this onramp does not know; upgrade onramp or remove the connection",
			errCannotSync, textsafe.Line(conn.Alias), textsafe.Line(conn.Vendor))
	}
	syncable, ok := vendor.Connector.(Syncable)
	if !ok {
		return nil, fmt.Errorf("%w: %s connections have no inventory", errCannotSync, vendor.Name)
	}

	newHTTP := s.NewHTTP
	if newHTTP == nil {
		newHTTP = httpx.New
	}
	hc, err := newHTTP(httpx.Options{CABundle: []byte(conn.CABundle), Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	limits := s.Limits.orDefault()
	raw := hc
	transport := cmp.Or[http.RoundTripper](hc.Transport, http.DefaultTransport)
	var gate *credentialGate
	if methodKind(vendor, conn) == MethodToken {
		authorize := s.tokenAuthorizer(conn)
		if authorize == nil {
			return nil, fmt.Errorf("%w: %s does not say how its tokens go on a request", errCannotSync, vendor.Name)
		}
		gate = &credentialGate{token: conn.Secret(store.SecretToken).Reveal(), authorize: authorize, next: transport}
		transport = gate
	}
	budget := &byteBudget{next: transport, limit: limits.Bytes}
	counted := *hc
	counted.Transport = budget
	hc = &counted
	// A token due to rotate rotates before the sync sends it (and again at
	// a checkpoint, when its day comes mid-sync): see rotate.go.
	if conn, err = s.rotateIfDue(ctx, conn, raw, gate); err != nil {
		return nil, err
	}
	if conn.State == store.StateNeedsReconnect { // GitLab refused the token as it was asked to rotate it
		return nil, fmt.Errorf("%w: %s", ErrNeedsReconnect, conn.StateReason)
	}
	rotate := func(ctx context.Context) error {
		c, err := s.Store.Get(ctx, conn.ID)
		if err != nil || !c.RotationDue(s.now()) || c.Rotation.InFlight != nil {
			return nil
		}
		_, err = s.rotateIfDue(ctx, c, raw, gate)
		return err
	}
	var src SyncSource
	if at, err := addressOf(vendor, conn); err == nil {
		src = syncable.Source(at, conn, hc, s.credential(vendor, conn, hc))
	} else {
		src = connector.FailingSource{Err: err}
	}

	run, resumed, err := s.Store.BeginRun(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	start, startUsers := time.Now(), run.Users
	report := func(r *store.SyncRun) {
		if progress == nil {
			return
		}
		p := Progress{ConnectionID: connectionID, RunID: r.ID, Status: r.Status, Resumed: resumed, Users: r.Users, Pages: r.Pages,
			Retries: r.Retries, Total: r.Total, View: r.View, Note: r.Note, Error: r.Error}
		if secs := time.Since(start).Seconds(); secs > 0 {
			p.Rate = float64(r.Users-startUsers) / secs
		}
		if p.Total != nil && p.Rate > 0 && *p.Total > p.Users {
			p.ETA = time.Duration(float64(*p.Total-p.Users) / p.Rate * float64(time.Second))
		}
		progress(p)
	}
	report(run)

	run, err = s.pages(ctx, src, run, report, limits, budget, rotate)
	if err == nil {
		var seats []store.Seats
		var note string
		seats, note, err = src.Seats(ctx)
		if err == nil {
			if err = s.Store.SaveSeats(ctx, run.ID, run.Gen, seats); err == nil && note != "" {
				var noted *store.SyncRun
				if noted, err = s.Store.SavePage(ctx, run.ID, store.PageUpdate{Checkpoint: checkpointDone, Retries: src.Retries(),
					View: run.View, Note: joinNotes(run.Note, textsafe.Line(note)), Gen: run.Gen, From: run.Checkpoint}); err == nil {
					run = noted
				}
			}
		}
	}
	status, errText := store.RunSucceeded, ""
	_, snooze := serverWait(err)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrFenced):
		return nil, err // another process holds the run now: it writes, this one stops
	case ctx.Err() != nil || errors.Is(err, store.ErrSyncStopped):
		status = store.RunStopped
	case snooze:
		status = store.RunStopped // put aside for the rate limit; resumes from its checkpoint
	default:
		status, errText = store.RunFailed, textsafe.Line(err.Error())
		s.markRejected(context.WithoutCancel(ctx), connectionID, err)
	}
	finish := s.Store.FinishRun
	var misconfigured connector.Misconfigured
	if errors.As(err, &misconfigured) && misconfigured.Misconfigured() {
		finish = s.Store.FailRun // its checkpoint would lead back to the same fault: the next run starts over
	}
	finished, ferr := finish(context.WithoutCancel(ctx), run.ID, run.Gen, status, errText)
	if ferr != nil {
		return nil, ferr
	}
	if progress != nil {
		p := Progress{ConnectionID: connectionID, RunID: finished.ID, Status: finished.Status, Resumed: resumed, Users: finished.Users,
			Pages: finished.Pages, Retries: finished.Retries, Total: finished.Total, View: finished.View, Note: finished.Note, Error: finished.Error}
		if status == store.RunSucceeded {
			p.Seats, _ = s.Store.Seats(context.WithoutCancel(ctx), finished.ID)
		}
		progress(p)
	}
	if err != nil {
		if status == store.RunStopped {
			return finished, fmt.Errorf("sync stopped; it resumes from page %d next time: %w", finished.Pages+1, cmp.Or(ctx.Err(), err))
		}
		return finished, err
	}
	return finished, nil
}

// pages fetches page after page from the run's checkpoint while the
// previous page is being written: the sync runs at the server's pace.
func (s *Syncer) pages(ctx context.Context, src SyncSource, run *store.SyncRun, report func(*store.SyncRun), limits Limits, budget *byteBudget,
	rotate func(context.Context) error) (*store.SyncRun, error) {
	if run.Checkpoint == checkpointDone {
		return run, nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	type fetched struct {
		page *SourcePage
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan fetched, 2)
	go func() {
		defer close(ch)
		cp := run.Checkpoint
		seen := pageSeen{}
		seen.again(cp)
		for {
			p, err := src.Page(ctx, cp)
			if err == nil && p.Next != "" && seen.again(p.Next) {
				err = &connector.LimitError{What: "one pass over the pages (the server sent a page it had already sent)"}
			}
			select {
			case ch <- fetched{p, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || p.Next == "" {
				return
			}
			cp = p.Next
		}
	}()
	stopChecked := time.Now()
	for f := range ch {
		if f.err != nil {
			return run, f.err
		}
		if f.page.Load != nil {
			if err := f.page.Load(f.page); err != nil {
				return run, err
			}
		}
		next := f.page.Next
		if next == "" {
			next = checkpointDone
		}
		saved, err := s.Store.SavePage(context.WithoutCancel(ctx), run.ID, store.PageUpdate{Users: f.page.Users, Checkpoint: next,
			Retries: src.Retries(), Total: f.page.Total, View: f.page.View, Note: textsafe.Line(f.page.Note), Gen: run.Gen, From: run.Checkpoint})
		if err != nil {
			return run, err
		}
		run = saved
		report(run)
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		if err := cmp.Or(limits.check(run, now()), budget.spent()); err != nil {
			return run, err
		}
		// Someone asked this sync to stop (from any process): it stops
		// here, at the checkpoint just saved. Asked at most twice a second.
		if time.Since(stopChecked) > 500*time.Millisecond {
			stopChecked = time.Now()
			if stop, err := s.Store.StopRequested(ctx, run.ConnectionID); err == nil && stop {
				return run, store.ErrSyncStopped
			}
			if err := rotate(ctx); err != nil {
				return run, err
			}
		}
	}
	if ctx.Err() != nil {
		return run, ctx.Err()
	}
	return run, nil
}

// credential sets the connection's secret on each request: the token, or an
// OAuth access token from the refresh-safe token source, renewed once when
// the server rejects it early; an app signs in by itself.
func (s *Syncer) credential(vendor *Vendor, conn *store.Connection, hc *http.Client) Credential {
	switch methodKind(vendor, conn) {
	case MethodApp:
		return Credential{} // the vendor signs in with the app's own credential
	case MethodOAuth:
		ts := &TokenSource{Store: s.Store, ID: conn.ID, Vendor: vendor.Connector, HTTP: hc, Now: s.Now}
		return Credential{
			Set: func(ctx context.Context, r *http.Request) error {
				tok, err := ts.TokenContext(ctx)
				if err != nil {
					return err
				}
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				return nil
			},
			Renew: func(ctx context.Context, rejected *http.Request) error {
				_, err := ts.Renew(ctx, strings.TrimPrefix(rejected.Header.Get("Authorization"), "Bearer "))
				return err
			},
		}
	}
	// A token goes on at the last moment, in the sync's credential gate.
	return Credential{Set: func(context.Context, *http.Request) error { return nil }}
}

// methodKind is how a stored connection's method authorizes, as its card
// says (a method the card no longer has is taken for a token).
func methodKind(v *Vendor, c *store.Connection) MethodKind {
	if m := v.Method(c.AuthMethod); m != nil {
		return m.Kind
	}
	return MethodToken
}

// tokenAuthorizer is how the vendor puts a personal token on a request
// (nil: it takes none, and its token connections cannot sync).
func (s *Syncer) tokenAuthorizer(conn *store.Connection) func(r *http.Request, token string) {
	if v := s.Catalog.Vendor(conn.Vendor); v != nil {
		if ta, ok := v.Connector.(TokenAuthorizer); ok {
			return ta.AuthorizeToken
		}
	}
	return nil
}

// markRejected records that the server refused the connection's credential
// (after a renewal, for OAuth): no sync can succeed until someone
// reconnects, so the connection says so, in the vendor's words.
func (s *Syncer) markRejected(ctx context.Context, id string, err error) {
	var rejected CredentialRejected
	if !errors.As(err, &rejected) || !rejected.CredentialRejected() {
		return
	}
	reason := err.Error()
	var detailed connector.ServerWorded
	if errors.As(err, &detailed) && detailed.ServerWords() != "" && !strings.Contains(reason, detailed.ServerWords()) {
		reason += " (the server said: " + detailed.ServerWords() + ")"
	}
	s.Store.Update(ctx, id, func(c *store.Connection) error {
		if c.State == store.StateNeedsReconnect {
			return errUnchanged
		}
		c.State, c.StateReason = store.StateNeedsReconnect, reason+"; reconnect to authorize again"
		return nil
	})
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + " " + b
}
