package connector

import (
	"math"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/internal/humanize"
	"github.com/onramp-dev/onramp/model"
)

// ExpirySoonDays: a token expiring this soon needs attention (the status
// page's threshold, and a connector's warning at connect time).
const ExpirySoonDays = 14

// DaysLeft counts the calendar days until t, as a person reads the date (a
// token ending tomorrow morning has 1 day left, one ended an hour ago 0, one
// 3 days and an hour away 3).
func DaysLeft(t, now time.Time) int {
	day := func(x time.Time) time.Time {
		y, m, d := x.Local().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(math.Round(day(t).Sub(day(now)).Hours() / 24))
}

// Verification is a connector's vendor-neutral account of a credential.
type Verification struct {
	BaseURL       string
	Account       model.Account
	ServerVersion string
	ServerEdition string // short: EE, CE
	EditionName   string // spelled out
	TokenName     string
	Scopes        []string
	ScopesKnown   bool
	// ScopesNote is the summary's Scopes line when the server does not
	// say them (a GitLab before 15.5, a fine-grained GitHub token).
	ScopesNote string
	// Vendor names the vendor in the summary's sentences.
	Vendor    string
	ExpiresAt *time.Time
	ExpiresIn string // "in 364 days"
	// OAuth: the credential is an OAuth grant. Refreshes: the server gave a
	// refresh token, so access tokens are renewed as needed.
	OAuth, Refreshes bool
	// NoExpiry is the summary's Expires line for an OAuth token the vendor
	// gives without expiry or refresh token, when the vendor knows why
	// (GitHub's OAuth app tokens live until revoked).
	NoExpiry string
	// AccessExpiresAt is when the OAuth access token ends (nil: the server
	// gave no expires_in); AccessLifetime is how long it lived when issued.
	AccessExpiresAt *time.Time
	AccessLifetime  time.Duration
	// Rotation says whether and how the token renews itself at the vendor
	// (nil: the vendor has no rotation, or it is an OAuth grant).
	Rotation *model.Rotation
	// AccountLine, when set, is the summary's Account line as the vendor
	// says it (an app in a tenant is no person, administrator or not);
	// Details are the vendor's own lines after the others (a tenant's
	// domains).
	AccountLine string
	Details     []SummaryItem
	Warnings    []Warning
}

// Warning is something that works now but will bite later.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Action  string `json:"action"`
}

// SummaryItem is one labelled line of a verification summary.
type SummaryItem struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Summary is the verification as labelled lines, shared by the wizard and
// `onramp connect` so both say the same.
func (v *Verification) Summary() []SummaryItem {
	role := "not an administrator"
	if v.Account.Admin {
		role = "administrator"
	}
	account := "@" + v.Account.Username
	if v.Account.Name != "" && !strings.EqualFold(v.Account.Name, v.Account.Username) { // not "@root (root)"
		account += " (" + v.Account.Name + ")"
	}
	server := v.ServerVersion
	if v.EditionName != "" {
		server += " " + v.EditionName
	}
	account += ", " + role
	if v.AccountLine != "" {
		account = v.AccountLine
	}
	items := []SummaryItem{
		{"Server", v.BaseURL},
		{"Account", account},
		{"Version", server},
	}
	if v.TokenName != "" {
		items = append(items, SummaryItem{"Token", v.TokenName})
	}
	switch {
	case v.ScopesKnown:
		items = append(items, SummaryItem{"Scopes", strings.Join(v.Scopes, ", ")})
	default:
		items = append(items, SummaryItem{"Scopes", v.ScopesNote})
	}
	switch {
	case v.OAuth:
		items = append(items, SummaryItem{"Expires", v.oauthExpiry()})
	case v.ExpiresAt != nil:
		items = append(items, SummaryItem{"Expires", v.ExpiresAt.UTC().Format("2006-01-02 15:04") + " UTC (" + v.ExpiresIn + ")"})
	case v.NoExpiry != "":
		items = append(items, SummaryItem{"Expires", v.NoExpiry})
	case v.ScopesKnown:
		items = append(items, SummaryItem{"Expires", "never"})
	}
	if line := RenewalLine(v.Rotation, v.ExpiresAt); line != "" {
		items = append(items, SummaryItem{"Renews", line})
	}
	return append(items, v.Details...)
}

// RenewalLine says when a token renews itself, or why it cannot; "" when
// the vendor has no rotation. The summary, the page and status share it.
func RenewalLine(r *model.Rotation, expires *time.Time) string {
	switch {
	case r == nil:
		return ""
	case r.Cannot != "":
		return "no: " + r.Cannot
	case r.InFlight != nil:
		return "rotating now"
	case r.LastRefusal != "":
		return "not any more: its last rotation was refused: " + r.LastRefusal + " (onramp rotate ALIAS tries again)"
	case r.LeadDays <= 0 || expires == nil:
		return "only when asked (onramp rotate ALIAS); automatic rotation is off"
	}
	return "itself on " + expires.AddDate(0, 0, -r.LeadDays).UTC().Format("2006-01-02") +
		" (" + humanize.Count(r.LeadDays, "day") + " before it expires), for another " + humanize.Count(max(r.LifetimeDays, 2*r.LeadDays), "day")
}

// oauthExpiry says what the server's expires_in and refresh token mean for
// the person: whether they will ever need to authorize again, and when.
func (v *Verification) oauthExpiry() string {
	switch {
	case v.Refreshes && v.AccessExpiresAt != nil:
		return "never: access tokens (" + humanize.Lifetime(v.AccessLifetime) + ") are renewed automatically"
	case v.Refreshes:
		return "never: the access token has no set expiry and is renewed automatically if " + v.Vendor + " ends it"
	case v.AccessExpiresAt != nil:
		return v.AccessExpiresAt.UTC().Format("2006-01-02 15:04") + " UTC (in " + humanize.Lifetime(v.AccessLifetime) +
			"): " + v.Vendor + " issued no refresh token, so reconnect then"
	}
	if v.NoExpiry != "" {
		return v.NoExpiry
	}
	return "not given by " + v.Vendor + ", and no refresh token was issued: reconnect when " + v.Vendor + " ends the token"
}
