package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Kind classifies what went wrong talking to a GitLab, so the wizard can say
// it plainly and send the person back to the field that needs fixing.
type Kind int

const (
	KindOther Kind = iota
	KindInvalidToken
	KindExpiredToken
	KindRevokedToken
	KindInsufficientScope
	KindBlockedUser
	KindDNS
	KindRefused
	KindTimeout
	KindUnknownAuthority
	KindTLS
	KindNotGitLab
	KindRedirect
	KindServer
	KindRateLimited
	KindBlocked // refused by this server's policy (onramp serve)
)

// Error is a failed GitLab call, explained.
type Error struct {
	Kind   Kind
	Host   string
	Status int
	// Detail is the server's own words, sanitized for the terminal.
	Detail string
	Err    error
	// Wait is how long a rate-limited server asked to be left alone.
	Wait time.Duration
}

func (e *Error) Unwrap() error { return e.Err }

// RetryAfter is how long to wait before trying again: the server's
// Retry-After when it rate-limited the request, else 0.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// ServerWords is what the server said, sanitized ("" when nothing).
func (e *Error) ServerWords() string { return e.Detail }

// CredentialRejected reports whether the server refused the credential
// itself (unknown, expired, revoked, too few scopes, blocked user): no retry
// helps, only a new one.
func (e *Error) CredentialRejected() bool { return e.Field() == connector.FieldToken }

// Error says what happened, in one line.
func (e *Error) Error() string {
	switch e.Kind {
	case KindInvalidToken:
		return "GitLab does not recognise this token (401 Unauthorized)"
	case KindExpiredToken:
		return "this token has expired"
	case KindRevokedToken:
		return "this token was revoked"
	case KindInsufficientScope:
		return "this token's scopes do not allow reading the API"
	case KindBlockedUser:
		if e.Detail != "" {
			return "GitLab refused the token's user: " + e.Detail
		}
		return "GitLab refused the token's user (blocked or deactivated)"
	case KindDNS:
		return fmt.Sprintf("the host name %s could not be found (DNS)", e.Host)
	case KindRefused:
		return fmt.Sprintf("nothing accepted the connection at %s (connection refused)", e.Host)
	case KindTimeout:
		return fmt.Sprintf("%s did not answer in time", e.Host)
	case KindUnknownAuthority:
		return fmt.Sprintf("%s presents a certificate signed by an authority this machine does not trust", e.Host)
	case KindTLS:
		return fmt.Sprintf("the secure connection to %s failed: %s", e.Host, e.Detail)
	case KindNotGitLab:
		return fmt.Sprintf("%s answered, but not as a GitLab server", e.Host)
	case KindRedirect:
		return "the server redirected elsewhere: " + e.Detail
	case KindRateLimited:
		return "GitLab is rate-limiting requests (429)"
	case KindBlocked:
		return e.Detail
	case KindServer:
		return fmt.Sprintf("GitLab answered %d: %s", e.Status, e.Detail)
	}
	if e.Detail != "" {
		return e.Detail
	}
	return fmt.Sprintf("request to %s failed", e.Host)
}

// Hint says what to do next, in words that fit every surface (the wizard,
// the command line, a log): no keys to press, no "below".
func (e *Error) Hint() string {
	switch e.Kind {
	case KindInvalidToken:
		return "Check that you pasted the whole token (it starts with glpat-) and that it belongs to this server."
	case KindExpiredToken:
		return "Create a new token in GitLab (Edit profile → Access tokens) and give onramp the new one."
	case KindRevokedToken:
		return "Someone revoked it in GitLab. Create a new token (Edit profile → Access tokens) and give onramp the new one."
	case KindInsufficientScope:
		return "Create a token with the read_api and read_user scopes (or api) and give onramp the new one."
	case KindBlockedUser:
		return "Ask a GitLab administrator to unblock or reactivate the account, or use another user's token."
	case KindDNS:
		return "Check the spelling of the server address, or your DNS/VPN."
	case KindRefused:
		return "Check the address and port; is GitLab running and reachable from this machine?"
	case KindTimeout:
		return "Try again; if it keeps failing, check the address, a VPN or proxy (HTTPS_PROXY)."
	case KindUnknownAuthority:
		return "If your GitLab uses a private CA, give the path of its CA certificate (PEM)."
	case KindTLS:
		return "Use the address the certificate was issued for, or ask your administrator to fix the certificate."
	case KindNotGitLab:
		return "Give the address of your GitLab itself, including its sub-path if it has one (https://host/gitlab)."
	case KindRedirect:
		return "Give the final address instead; onramp never follows a redirect or a page link to another host, scheme or path, because the token would go with it. When the server names itself wrongly (a page link off its own address), its external_url setting needs fixing."
	case KindRateLimited:
		return "Wait a minute and try again."
	case KindBlocked:
		return "Use an address this onramp server may reach, or ask its operator to allow the host (onramp serve --allow-host)."
	case KindServer:
		return "GitLab had a problem; try again, or check the server's health."
	}
	return "Check the address and try again."
}

// Field names the form field the person should fix, or "" when a retry is
// the fix.
func (e *Error) Field() string {
	switch e.Kind {
	case KindInvalidToken, KindExpiredToken, KindRevokedToken, KindInsufficientScope, KindBlockedUser:
		return connector.FieldToken
	case KindUnknownAuthority:
		return connector.FieldCAFile
	case KindTimeout, KindRateLimited, KindServer:
		return ""
	}
	return connector.FieldURL
}

// Code implements connector.Coded: the kind, as a script reads it.
func (e *Error) Code() string {
	switch e.Kind {
	case KindInvalidToken:
		return connector.CodeCredentialInvalid
	case KindExpiredToken:
		return connector.CodeCredentialExpired
	case KindRevokedToken:
		return connector.CodeCredentialRevoked
	case KindInsufficientScope:
		return connector.CodeInsufficientScope
	case KindBlockedUser, KindBlocked:
		return connector.CodeAccessDenied
	case KindDNS, KindRefused, KindTimeout, KindUnknownAuthority, KindTLS:
		return connector.CodeUnreachable
	case KindNotGitLab, KindRedirect:
		return connector.CodeMisconfigured
	case KindServer:
		return connector.CodeServerError
	case KindRateLimited:
		return connector.CodeRateLimited
	}
	return ""
}

// Misconfigured: a redirect or a page link off the server is its setup
// (external_url), not a passing fault.
func (e *Error) Misconfigured() bool { return e.Kind == KindRedirect }

// Retryable reports whether trying again unchanged may succeed.
func (e *Error) Retryable() bool {
	return e.Kind == KindTimeout || e.Kind == KindRateLimited || e.Kind == KindServer
}

// apiError is the union of GitLab's error bodies.
type apiError struct {
	Message          any    `json:"message"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// classifyStatus turns a non-2xx answer into an Error, reading GitLab's body.
func classifyStatus(host string, status int, body []byte) *Error {
	var b apiError
	_ = json.Unmarshal(body, &b)
	msg := ""
	switch m := b.Message.(type) {
	case string:
		msg = m
	case nil:
	default:
		j, _ := json.Marshal(m)
		msg = string(j)
	}
	detail := textsafe.Truncate(firstNonEmpty(b.ErrorDescription, msg, b.Error, string(body)), 200)
	e := &Error{Host: host, Status: status, Detail: detail}
	desc := strings.ToLower(b.ErrorDescription)
	switch {
	case status == 401 && strings.Contains(desc, "expired"):
		e.Kind = KindExpiredToken
	case status == 401 && strings.Contains(desc, "revoked"):
		e.Kind = KindRevokedToken
	case status == 401:
		e.Kind = KindInvalidToken
	case status == 403 && b.Error == "insufficient_scope":
		e.Kind = KindInsufficientScope
	case status == 403:
		e.Kind = KindBlockedUser
	default:
		e.Kind = statusKind(status)
	}
	return e
}

// statusKind classifies a status that carries no credential problem.
func statusKind(status int) Kind {
	if status == http.StatusTooManyRequests {
		return KindRateLimited
	}
	return KindServer
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// classifyTransport explains an error from the HTTP client itself.
func classifyTransport(host string, err error) *Error {
	e := &Error{Host: host, Err: err}
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var redirect *httpx.RedirectError
	var netErr net.Error
	var blocked *httpx.BlockedError
	switch {
	case errors.As(err, &blocked):
		e.Kind = KindBlocked
		e.Detail = textsafe.Line(blocked.Error())
	case errors.As(err, &redirect):
		e.Kind = KindRedirect
		e.Detail = textsafe.Line(redirect.Error())
	case errors.As(err, &dnsErr):
		e.Kind = KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = KindRefused
	case errors.As(err, &unknownCA):
		e.Kind = KindUnknownAuthority
	case errors.As(err, &hostErr):
		e.Kind = KindTLS
		// The names are whatever the certificate's maker wrote: sanitized.
		e.Detail = textsafe.Truncate("the certificate is for "+strings.Join(certNames(hostErr.Certificate), ", ")+", not "+hostErr.Host, 200)
	case errors.As(err, &invalid):
		e.Kind = KindTLS
		e.Detail = textsafe.Line(invalid.Error())
	case errors.As(err, &certErr):
		e.Kind = KindTLS
		e.Detail = textsafe.Line(certErr.Err.Error())
	case errors.As(err, &recordErr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind = KindTLS
		e.Detail = "the server does not speak TLS on this port (try http:// or another port)"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Kind = KindTimeout
	default:
		e.Kind = KindOther
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is ours; the cause is what matters
		}
		e.Detail = textsafe.Truncate(err.Error(), 200)
	}
	return e
}

func certNames(c *x509.Certificate) []string {
	if c == nil {
		return []string{"another host"}
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = []string{c.Subject.CommonName}
	}
	return names
}
