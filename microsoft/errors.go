package microsoft

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
)

// Kind classifies a failure for the person and for the job queue.
type Kind int

const (
	KindOther         Kind = iota
	KindCredential         // the token endpoint or Graph refused the app's credential
	KindTenant             // no such tenant in this cloud (AADSTS90002)
	KindApplication        // no such application in the tenant, or it is disabled
	KindSecret             // a wrong client secret (AADSTS7000215)
	KindSecretExpired      // the client secret expired (AADSTS7000222)
	KindCertificate        // the assertion's certificate is not the app's (AADSTS700027)
	KindConsent            // an application permission is not granted (yet)
	KindForbidden          // Graph refused a request (Authorization_RequestDenied)
	KindThrottled          // 429, or 503 with Retry-After: wait and try again
	KindServer             // 5xx, or an answer that could not be read
	KindUnreachable        // DNS, refused, TLS, timeout
	KindNotMicrosoft       // the address answers, but not as Entra ID or Graph
	KindMisconfigured      // a page link or a redirect to another host
)

// Field keys of the Microsoft card beyond the common ones.
const (
	FieldCloud         = "cloud" // where the tenant lives: a cloud, chosen (the card's address)
	FieldTenant        = "tenant"
	FieldCertificate   = "certificate"    // the sealed key pair (a secret onramp makes)
	FieldSecretExpires = "secret_expires" // the client secret's end date, as Entra shows it
)

// Error is a failed request to Entra ID or Graph, explained.
type Error struct {
	Kind   Kind
	Host   string
	Status int
	// ServerCode is the server's error code (invalid_client, or Graph's
	// Authorization_RequestDenied); AADSTS its number at Entra.
	ServerCode string
	AADSTS     int
	// Message is the server's own words.
	Message string
	// Missing are the application permissions a consent still lacks, and
	// ConsentAt the tenant's admin-consent address that grants them.
	Missing   []string
	ConsentAt string
	// Wait is how long the server asked to wait (throttling).
	Wait time.Duration
	Err  error
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	words := ""
	if e.Message != "" {
		words = " (" + textsafe.Truncate(textsafe.Line(e.Message), 200) + ")"
	}
	host := textsafe.Line(e.Host)
	switch e.Kind {
	case KindCredential:
		return "Entra ID did not accept the app's credential" + words
	case KindTenant:
		return "Entra ID has no such tenant in this cloud" + words
	case KindApplication:
		return "the tenant has no such application, or it is disabled" + words
	case KindSecret:
		return "Entra ID did not accept the client secret" + words
	case KindSecretExpired:
		return "the client secret has expired" + words
	case KindCertificate:
		return "Entra ID did not accept onramp's certificate for this app" + words
	case KindConsent:
		return "the app lacks the application permission" + plural(len(e.Missing)) + " " + strings.Join(e.Missing, ", ") + ": an administrator has not granted " + them(len(e.Missing)) + " yet"
	case KindForbidden:
		return "Graph refused the request" + words
	case KindThrottled:
		if e.Wait > 0 {
			return fmt.Sprintf("Microsoft is throttling the requests; it asked onramp to wait %s", e.Wait.Round(time.Second))
		}
		return "Microsoft is throttling the requests"
	case KindServer:
		return fmt.Sprintf("%s answered with an error (%d)%s", host, e.Status, words)
	case KindUnreachable:
		return fmt.Sprintf("cannot reach %s: %v", host, textsafe.Line(fmt.Sprint(e.Err)))
	case KindNotMicrosoft:
		return fmt.Sprintf("%s answered, but not as Microsoft's sign-in or Graph (HTTP %d)", host, e.Status)
	case KindMisconfigured:
		return fmt.Sprintf("%s sent onramp elsewhere: %v", host, textsafe.Line(fmt.Sprint(e.Err)))
	}
	return fmt.Sprintf("the request to %s failed: %v%s", host, textsafe.Line(fmt.Sprint(e.Err)), words)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// Hint says what to do next, where in Entra.
func (e *Error) Hint() string {
	switch e.Kind {
	case KindTenant:
		return "Copy the Directory (tenant) ID from the app's Overview page in the Entra admin center, and check the cloud"
	case KindApplication:
		return "Copy the Application (client) ID from the app's Overview page (App registrations → your app), in this tenant"
	case KindSecret:
		return "Copy the secret's Value (not its Secret ID) under Certificates & secrets; Entra shows it once, so add a new one if it is gone"
	case KindSecretExpired:
		return "Add a new client secret under Certificates & secrets and use its Value instead"
	case KindCertificate:
		return "Upload the certificate onramp made (shown with its thumbprint before the fields, or written where --certificate-out said) under the app's Certificates & secrets → Certificates, then try again"
	case KindConsent:
		return "In the app's API permissions, add the Microsoft Graph application permissions " + strings.Join(e.Missing, ", ") + " and select Grant admin consent (a Global or Privileged Role Administrator), or have one open the admin-consent address"
	case KindForbidden:
		return "Grant the app the application permission Graph names in API permissions, with admin consent"
	case KindThrottled:
		return "Try again later; syncs wait for it by themselves"
	case KindUnreachable:
		return "Check that this machine can reach Microsoft's sign-in and Graph (a proxy or firewall?)"
	case KindCredential:
		return "Check the app's credential under Certificates & secrets, then reconnect"
	}
	return ""
}

// Field is the form field to fix, or "" when retrying is the fix.
func (e *Error) Field() string {
	switch e.Kind {
	case KindTenant:
		return FieldTenant
	case KindApplication:
		return connector.FieldClientID
	case KindSecret, KindSecretExpired:
		return connector.FieldClientSecret
	case KindCertificate:
		return FieldCertificate
	case KindUnreachable, KindNotMicrosoft, KindMisconfigured:
		return FieldCloud
	}
	return ""
}

// Retryable: trying again unchanged may succeed — once a consent is
// granted, or the certificate uploaded, too: both happen in Entra, not in
// onramp's fields.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindServer, KindThrottled, KindUnreachable, KindConsent, KindCertificate:
		return true
	}
	return false
}

// RetryAfter is how long to wait before trying again.
func (e *Error) RetryAfter() time.Duration {
	if e.Kind == KindThrottled {
		return e.Wait
	}
	return 0
}

// CredentialRejected: only a new credential, or a consent, fixes it.
func (e *Error) CredentialRejected() bool {
	switch e.Kind {
	case KindCredential, KindTenant, KindApplication, KindSecret, KindSecretExpired, KindCertificate:
		return true
	}
	return false
}

// PendingAt is where an administrator grants a missing consent: the
// wizard shows it and looks again by itself.
func (e *Error) PendingAt() string {
	if e.Kind == KindConsent {
		return e.ConsentAt
	}
	return ""
}

// ServerWords are the server's words, for "the server said …".
func (e *Error) ServerWords() string { return e.Message }

// Misconfigured: trying again changes nothing.
func (e *Error) Misconfigured() bool {
	return e.Kind == KindMisconfigured || e.Kind == KindNotMicrosoft
}

// Code implements connector.Coded.
func (e *Error) Code() string {
	switch e.Kind {
	case KindCredential, KindTenant, KindApplication, KindSecret, KindCertificate:
		return connector.CodeCredentialInvalid
	case KindSecretExpired:
		return connector.CodeCredentialExpired
	case KindConsent:
		return connector.CodeInsufficientScope
	case KindForbidden:
		return connector.CodeAccessDenied
	case KindThrottled:
		return connector.CodeRateLimited
	case KindServer:
		return connector.CodeServerError
	case KindUnreachable:
		return connector.CodeUnreachable
	case KindNotMicrosoft, KindMisconfigured:
		return connector.CodeMisconfigured
	}
	return ""
}

// maxBody bounds one answer onramp reads (a page of 999 users with their
// licenses is about 1 MB).
const maxBody = 16 << 20

// odataError is Graph's error body.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// statusError explains a Graph answer that is not a success.
func statusError(host string, resp *http.Response, body []byte) *Error {
	var o odataError
	json.Unmarshal(body, &o)
	e := &Error{Kind: KindServer, Host: host, Status: resp.StatusCode, ServerCode: o.Error.Code, Message: o.Error.Message}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""):
		e.Kind, e.Wait = KindThrottled, retryAfter(resp)
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = KindCredential
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = KindForbidden
	case resp.StatusCode >= 500:
	case o.Error.Code == "":
		e.Kind = KindNotMicrosoft
	default:
		e.Kind = KindOther
		e.Err = fmt.Errorf("HTTP %d %s", resp.StatusCode, textsafe.Line(o.Error.Code))
	}
	return e
}

// retryAfter reads Retry-After; Graph's throttling guidance says to wait
// that long, and a few seconds when it does not say.
func retryAfter(resp *http.Response) time.Duration {
	if d, ok := httpx.RetryAfter(resp.Header.Get("Retry-After")); ok {
		return d
	}
	return 5 * time.Second
}

// transportError explains a request that got no answer.
func transportError(host string, err error) *Error {
	reason, redirected := httpx.Unanswered(err)
	if redirected {
		return &Error{Kind: KindMisconfigured, Host: host, Err: reason}
	}
	return &Error{Kind: KindUnreachable, Host: host, Err: reason}
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
