package connector

import "time"

// A connector's errors say, by the interfaces they implement, what the
// person, the command line and the job queue do next: Explained for a
// person (the field to fix and a hint), Throttled for the queue (come back
// later), CredentialRejected for the connection (only a reconnect helps).

// Explained is implemented by connector errors that know what to do next.
type Explained interface {
	error
	Hint() string
	Field() string   // the field to fix, or "" when retrying is the fix
	Retryable() bool // trying again unchanged may succeed
}

// StepError is a failure the person can act on: which field to fix (if
// any), what to do, whether a retry may help.
type StepError struct {
	Field     string
	Message   string
	Hint      string
	Retryable bool
	Err       error
}

func (e *StepError) Error() string {
	if e.Hint != "" {
		return e.Message + ". " + e.Hint
	}
	return e.Message
}

func (e *StepError) Unwrap() error { return e.Err }

// Pending is implemented by errors that wait on someone else's action at
// an address (an administrator granting consent): the wizard shows the
// address and tries again by itself; the command line waits.
type Pending interface{ PendingAt() string }

// Throttled is implemented by errors that say when to come back (a rate
// limit's Retry-After).
type Throttled interface{ RetryAfter() time.Duration }

// Misconfigured is implemented by errors that mean the server is set up
// wrong (a redirect or a page link to another host): trying again changes
// nothing until someone fixes it, so a sync fails at once, unretried.
type Misconfigured interface{ Misconfigured() bool }

// CredentialRejected is implemented by errors that mean the vendor refused
// the credential itself: only a person (a reconnect) can fix it.
type CredentialRejected interface{ CredentialRejected() bool }

// ServerWorded is implemented by errors that carry the vendor's own words,
// recorded with a connection that needs a reconnect.
type ServerWorded interface{ ServerWords() string }

// LimitError: a sync reached one of onramp's limits on what a server may
// make it do (pages, users, bytes, time, a page sent again). Limits stand far
// above any real organization, so reaching one means a broken or hostile
// server: the sync fails at once, unretried, and its next run starts over.
type LimitError struct {
	// What was limited, said whole: "50,000 pages in one sync".
	What string
}

func (e *LimitError) Error() string {
	return "the sync stopped at onramp's limit of " + e.What + ": far more than any real organization has, so the server is broken or hostile"
}

// Hint says what to do.
func (e *LimitError) Hint() string {
	return "Check the server (its user list, its pagination); if your organization is truly this large, tell onramp's maintainers"
}

// Misconfigured: retrying returns to the same place.
func (e *LimitError) Misconfigured() bool { return true }

// Error codes a script reads (`--json` errors): the kind of failure,
// whatever the vendor.
const (
	CodeCredentialInvalid = "credential_invalid"
	CodeCredentialExpired = "credential_expired"
	CodeCredentialRevoked = "credential_revoked"
	CodeInsufficientScope = "insufficient_scope"
	CodeSSORequired       = "sso_required"
	CodeAccessDenied      = "access_denied"
	CodeRateLimited       = "rate_limited"
	CodeUnreachable       = "unreachable"
	CodeServerError       = "server_error"
	CodeMisconfigured     = "server_misconfigured"
	CodeLimitReached      = "limit_reached"
)

// Coded is implemented by errors that say which of the codes above they
// are.
type Coded interface{ Code() string }

// Code implements Coded.
func (e *LimitError) Code() string { return CodeLimitReached }
