package github

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Kind classifies a failure for the person and for the job queue.
type Kind int

const (
	KindOther       Kind = iota
	KindCredential       // 401: the token is wrong, expired or revoked
	KindSSO              // 403 with X-GitHub-SSO: an organization wants SAML SSO
	KindForbidden        // 403: the token may not read this
	KindNotFound         // 404
	KindRateLimited      // 403/429 with a rate limit: wait and try again
	KindServer           // 5xx, or an answer that could not be read
	KindUnreachable      // DNS, refused, TLS, timeout
	KindNotGitHub        // the address answers, but not as GitHub
	// KindAppRestricted: 403 because the organization restricts OAuth
	// apps and has not approved this one.
	KindAppRestricted
	// KindMisconfigured: the server sent onramp to another host or port (a
	// redirect, a Link header): its own address setting is wrong.
	KindMisconfigured
)

// Error is a failed GitHub request, explained.
type Error struct {
	Kind   Kind
	Host   string
	Status int
	// Message is GitHub's own words ("Bad credentials").
	Message string
	// SSO is the address where the token is authorized for the
	// organization (from X-GitHub-SSO).
	SSO string
	// Org is the organization the request was about, when one was.
	Org string
	// Wait is how long GitHub asked to wait (rate limits).
	Wait time.Duration
	Err  error
}

func (e *Error) Unwrap() error { return e.Err }

// RetryAfter is how long to wait before trying again (rate limits).
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// CredentialRejected: only a new token (a reconnect) can fix it.
func (e *Error) CredentialRejected() bool { return e.Kind == KindCredential }

// ServerWords is GitHub's message, for "the server said …".
func (e *Error) ServerWords() string { return e.Message }

func (e *Error) Error() string {
	words := ""
	if e.Message != "" {
		words = " (" + textsafe.Line(e.Message) + ")"
	}
	host := textsafe.Line(e.Host)
	switch e.Kind {
	case KindCredential:
		return "GitHub does not accept this token" + words
	case KindSSO:
		return "the organization " + orgName(e.Org) + " uses SAML single sign-on and this token is not authorized for it"
	case KindAppRestricted:
		return "the organization " + orgName(e.Org) + " restricts OAuth apps and has not approved this one"
	case KindForbidden:
		if e.Org != "" {
			return "this token may not read the members of " + orgName(e.Org) + words
		}
		return fmt.Sprintf("GitHub refused the request (%d)%s", e.Status, words)
	case KindNotFound:
		return "GitHub answered 404: the organization does not exist, or this token may not see it" + words
	case KindRateLimited:
		if e.Wait > 0 {
			return fmt.Sprintf("GitHub's rate limit is spent; it resets in %s", e.Wait.Round(time.Second))
		}
		return "GitHub's rate limit is spent"
	case KindServer:
		return fmt.Sprintf("%s answered with an error (%d)%s", host, e.Status, words)
	case KindUnreachable:
		return fmt.Sprintf("cannot reach %s: %v", host, textsafe.Line(fmt.Sprint(e.Err)))
	case KindNotGitHub:
		return fmt.Sprintf("%s answered, but not as GitHub's API (HTTP %d)", host, e.Status)
	case KindMisconfigured:
		return fmt.Sprintf("%s sent onramp elsewhere: %v", host, textsafe.Line(fmt.Sprint(e.Err)))
	}
	return fmt.Sprintf("the request to %s failed: %v", host, textsafe.Line(fmt.Sprint(e.Err)))
}

func orgName(org string) string {
	if org == "" {
		return "(unnamed)"
	}
	return textsafe.Line(org)
}

// Hint says what to do next.
func (e *Error) Hint() string {
	switch e.Kind {
	case KindCredential:
		return "Check that you pasted the whole token (ghp_… or github_pat_…) and that it has not expired or been revoked; create a new one if so"
	case KindSSO:
		if e.SSO != "" {
			return "Authorize the token for the organization at " + textsafe.Line(e.SSO) + " (Configure SSO on the token page), then try again"
		}
		return "On the token page, select Configure SSO and authorize the organization, then try again"
	case KindAppRestricted:
		return "An owner of " + orgName(e.Org) + " approves the app under the organization's Settings → Third-party access → OAuth app policy (members can request it when they authorize); or connect with a personal access token"
	case KindForbidden, KindNotFound:
		return "A classic token needs the read:org scope; a fine-grained one needs the organization as its resource owner with Members: read"
	case KindRateLimited:
		return "Try again after the reset; syncs wait for it by themselves"
	case KindUnreachable:
		return "Check the address, and that this machine can reach it"
	case KindNotGitHub:
		return "Give the address you open GitHub at: https://github.com, or your Enterprise Server's"
	case KindMisconfigured:
		return "The server's own address setting points elsewhere (on Enterprise Server, its hostname): fix it there, or connect with the address it sends to"
	}
	return ""
}

// Field is the form field to fix, or "" when retrying is the fix.
func (e *Error) Field() string {
	switch e.Kind {
	case KindCredential, KindSSO, KindForbidden, KindAppRestricted:
		return connector.FieldToken
	case KindUnreachable, KindNotGitHub, KindMisconfigured:
		return connector.FieldURL
	}
	return ""
}

// Code implements connector.Coded.
func (e *Error) Code() string {
	switch e.Kind {
	case KindCredential:
		return connector.CodeCredentialInvalid
	case KindSSO:
		return connector.CodeSSORequired
	case KindForbidden, KindNotFound, KindAppRestricted:
		return connector.CodeAccessDenied
	case KindRateLimited:
		return connector.CodeRateLimited
	case KindServer:
		return connector.CodeServerError
	case KindUnreachable:
		return connector.CodeUnreachable
	case KindNotGitHub, KindMisconfigured:
		return connector.CodeMisconfigured
	}
	return ""
}

// Misconfigured: trying again changes nothing until the server is fixed.
func (e *Error) Misconfigured() bool { return e.Kind == KindMisconfigured || e.Kind == KindNotGitHub }

// Retryable: trying again unchanged may succeed.
func (e *Error) Retryable() bool {
	return e.Kind == KindServer || e.Kind == KindRateLimited || e.Kind == KindUnreachable
}

// message reads GitHub's {"message": …} body.
func message(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	json.Unmarshal(body, &m)
	return textsafe.Truncate(m.Message, 200)
}

// transportError explains a request that got no answer.
func transportError(host string, err error) *Error {
	reason, redirected := httpx.Unanswered(err)
	if redirected {
		return &Error{Kind: KindMisconfigured, Host: host, Err: reason}
	}
	return &Error{Kind: KindUnreachable, Host: host, Err: reason}
}
