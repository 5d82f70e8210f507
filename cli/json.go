package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// The JSON onramp prints: one shape per thing, shared by every command that
// prints that thing, with machine values (ids, not display names). The
// schema is docs/onramp.schema.json; the README shows an example.

// Connection is a stored connection, as list, show, status, connect,
// reconnect and remove print it.
type Connection struct {
	ID            string     `json:"id"`
	Vendor        string     `json:"vendor"`      // the catalog's id: "gitlab"
	Alias         string     `json:"alias"`       //
	URL           string     `json:"url"`         // the server's base URL
	Host          string     `json:"host"`        // host[/sub-path]
	AuthMethod    string     `json:"auth_method"` // "token" | "oauth"
	Account       Account    `json:"account"`
	Scopes        []string   `json:"scopes"`
	TokenName     string     `json:"token_name,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at"` // null: never
	ServerVersion string     `json:"server_version,omitempty"`
	ServerEdition string     `json:"server_edition,omitempty"`
	// State is "connected", "expired", "needs_reconnect" or "error";
	// Reason says why when it is not connected.
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	SyncEvery string `json:"sync_every"` // "24h", "6h", "off"
	// Renews says when the token renews itself, or why it cannot.
	Renews    string    `json:"renews,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// show only: the private CA (described) and the secrets' fingerprints.
	CABundle string            `json:"ca_bundle,omitempty"`
	Secrets  map[string]string `json:"secrets,omitempty"`
}

// Account is the vendor account a connection acts as.
type Account struct {
	ID       store.ID `json:"id"` // a number for GitLab and GitHub
	Username string   `json:"username"`
	Name     string   `json:"name,omitempty"`
	Admin    bool     `json:"admin"`
}

// Status is a connection with its sync, as status prints it.
type Status struct {
	Connection Connection `json:"connection"`
	Sync       SyncStatus `json:"sync"`
	// Attention says why a person should act (exit 1), or is absent.
	Attention string            `json:"attention,omitempty"`
	Notified  *store.NotifiedAt `json:"notified,omitempty"`
}

// SyncStatus is where a connection's syncing stands.
type SyncStatus struct {
	// Text says it in words: "next sync at 14:05", "syncing on worker@host:42".
	Text     string          `json:"text"`
	Job      *store.SyncJob  `json:"job"`      // the waiting or running job, or null
	LastRun  *store.SyncRun  `json:"last_run"` // the latest run, or null
	Progress *flows.Progress `json:"progress,omitempty"`
}

// Result is what connect and reconnect print: the connection and the
// verification summary the wizard shows, with its warnings.
type Result struct {
	Connection Connection          `json:"connection"`
	Summary    []flows.SummaryItem `json:"summary"`
	Warnings   []flows.Warning     `json:"warnings"`
}

// Removed is what remove prints.
type Removed struct {
	Connection Connection `json:"connection"`
	Removed    bool       `json:"removed"`
	Revoked    bool       `json:"revoked"`
}

// ErrorJSON is what any command prints on stdout with --json when it fails.
type ErrorJSON struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names the failure: Code is the exit code's name.
type ErrorBody struct {
	Code     string `json:"code"` // "failure", "usage", "not_found", "store_key", "aborted", or the failure's kind (connector.Code…)
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message"`
}

var codeNames = map[int]string{ExitFailure: "failure", ExitUsage: "usage", ExitNotFound: "not_found", ExitConfig: "store_key", ExitAborted: "aborted"}

// errorCode is the --json error's code: the failure's kind when the vendor's
// error says it (credential_expired, rate_limited, …), else the exit's.
func errorCode(err error, exit int) string {
	var coded flows.Coded
	if exit == ExitFailure && errors.As(err, &coded) && coded.Code() != "" {
		return coded.Code()
	}
	return codeNames[exit]
}

// connectionJSON is c as the JSON Connection (its state as the
// Integrations page decides it: a token past its date is "expired").
func (a *App) connectionJSON(c *store.Connection) Connection {
	row := flows.IntegrationOf(c, a.Catalog, a.Now())
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return Connection{
		ID: c.ID, Vendor: c.Vendor, Alias: c.Alias, URL: c.BaseURL, Host: row.Host, AuthMethod: c.AuthMethod,
		Account: Account{ID: c.Account.ID, Username: c.Account.Username, Name: c.Account.Name, Admin: c.Account.Admin},
		Scopes:  scopes, TokenName: c.TokenName, ExpiresAt: c.ExpiresAt, ServerVersion: c.ServerVersion, ServerEdition: c.ServerEdition,
		State: row.State, Reason: row.Reason, SyncEvery: everyText(c.SyncEvery), Renews: row.Renews,
		CreatedAt: c.CreatedAt, CreatedBy: c.CreatedBy, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy,
	}
}

// everyText is a sync period as a machine value: "24h", "90m", "off".
func everyText(d time.Duration) string {
	return strings.TrimPrefix(flows.ScheduleText(d), "every ")
}

// writeConnections prints every stored connection as a JSON array.
func (a *App) writeConnections(ctx context.Context, st store.Store, limit int) error {
	conns, err := st.List(ctx, store.ListOptions{Limit: limit})
	if err != nil {
		return err
	}
	out := make([]Connection, 0, len(conns))
	for i := range conns {
		out = append(out, a.connectionJSON(&conns[i]))
	}
	return writeJSON(a.Out, out)
}

// writeStatuses prints rows as JSON Status objects.
func (a *App) writeStatuses(rows []flows.Status) error {
	out := make([]Status, 0, len(rows))
	for _, r := range rows {
		out = append(out, Status{Connection: a.connectionJSON(r.Connection), Attention: r.Attention, Notified: r.Notified,
			Sync: SyncStatus{Text: r.Sync, Job: r.Job, LastRun: r.LastRun, Progress: r.Live}})
	}
	return writeJSON(a.Out, out)
}

// writeJSON prints v as indented JSON; every string passes textsafe.JSON
// (stored aliases, server words: nothing reaches a terminal raw).
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(textsafe.JSON(b), '\n'))
	return err
}

// writeJSONLine prints v as one line of NDJSON, sanitized like writeJSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(textsafe.JSON(b), '\n'))
	return err
}
