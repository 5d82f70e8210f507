package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/internal/textsafe"
)

// RedirectPath is the callback path of a browser authorization. GitLab and
// GitHub ignore the port of a loopback address, so one registration,
// RegisteredRedirectURI, serves whichever free port onramp listens on.
const RedirectPath = "/onramp/callback"

// RegisteredRedirectURI is what to paste into the vendor's application form.
const RegisteredRedirectURI = "http://127.0.0.1" + RedirectPath

// OAuthProvider is implemented by connectors that authorize with OAuth 2:
// the browser flow with PKCE, paste-back, and the device grant.
type OAuthProvider interface {
	// OAuth describes the vendor's OAuth service at an address for the
	// values (the form's, or a stored connection's: client id and secret,
	// scopes); the flow sets the config's redirect address.
	OAuth(at Address, values map[string]string) (*OAuthService, error)
	// VerifyOAuth checks an access token as Verify checks a personal token.
	VerifyOAuth(ctx context.Context, req VerifyRequest, accessToken string) (*Verification, error)
}

// OAuthService is one instance's OAuth service as the flow needs it.
type OAuthService struct {
	Config *oauth2.Config
	// Host is the instance's web host: a device authorization's addresses
	// must be on it.
	Host string
	// Vendor names the vendor in messages.
	Vendor string
	// Explain turns x/oauth2's and the network's errors into an *OAuthError
	// or the vendor's typed error.
	Explain func(error) error
	// NoDevice, when set, is said when the device endpoint answers 404 (a
	// server without the device grant) and the flow falls back to
	// paste-back; otherwise the 404 is an error.
	NoDevice string
	// SecretForCode: exchanging an authorization code (browser and
	// paste-back) needs the client secret; the device grant does not.
	SecretForCode bool
}

// OAuthError explains a failed OAuth exchange in the terms a person needs.
type OAuthError struct {
	Vendor      string // names the vendor in the sentences
	Code        string // invalid_grant, invalid_client, access_denied… (sanitized)
	Description string // the server's words, sanitized
	// Status is the HTTP status of the answer; 0 when the error came back
	// through the browser's redirect.
	Status int
	// Authorizing: the error ended a new authorization (a code exchange or
	// a device grant), not the renewal of a stored one.
	Authorizing bool
	// Hints are the vendor's words on what to do after a failure, by the
	// kind of its code (where its application settings are); other kinds
	// get onramp's hint.
	Hints map[string]string
}

// kind groups the codes vendors use for the same failure (GitHub answers
// a spent code with bad_verification_code where RFC 6749 says invalid_grant).
func (e *OAuthError) kind() string {
	switch e.Code {
	case "invalid_grant", "bad_verification_code", "incorrect_device_code":
		return "invalid_grant"
	case "invalid_client", "incorrect_client_credentials":
		return "invalid_client"
	}
	return e.Code
}

func (e *OAuthError) Error() string {
	switch e.kind() {
	case "invalid_grant":
		if e.Authorizing {
			return fmt.Sprintf("the authorization failed (%s): %s did not accept the authorization code — it was already used, expired, or issued for another application or address", e.Code, e.Vendor)
		}
		return fmt.Sprintf("%s no longer accepts this authorization (%s): the connection needs to be reconnected", e.Vendor, e.Code)
	case "invalid_client":
		return fmt.Sprintf("%s did not accept the application's client ID or secret (%s)", e.Vendor, e.Code)
	case "invalid_scope":
		return "the application is not registered for the requested scopes (invalid_scope)"
	case "access_denied":
		return "the authorization was denied in " + e.Vendor
	case "expired_token":
		return "the device code expired before it was approved"
	}
	if e.Description != "" {
		return fmt.Sprintf("%s refused the authorization (%s): %s", e.Vendor, e.Code, e.Description)
	}
	return fmt.Sprintf("%s refused the authorization (%s)", e.Vendor, e.Code)
}

// Hint says what to do next: the vendor's words for the failure, else
// onramp's.
func (e *OAuthError) Hint() string {
	if h := e.Hints[e.kind()]; h != "" {
		return h
	}
	switch e.kind() {
	case "invalid_grant":
		if e.Authorizing {
			return "Try the authorization again; use the address or code of this attempt only, once."
		}
		return "Authorize again (onramp reconnect ALIAS): alias, settings and inventory are kept."
	case "access_denied":
		return "Start again and select Authorize in " + e.Vendor + "."
	case "expired_token":
		return "Start again and approve the code before it expires."
	}
	return "Check the application's settings in " + e.Vendor + " and try again."
}

// Field names the form field to fix.
func (e *OAuthError) Field() string {
	switch e.kind() {
	case "invalid_client":
		return FieldClientID
	case "invalid_scope":
		return FieldScopes
	}
	return ""
}

// Retryable: every OAuth failure needs a new authorization, not a retry.
func (e *OAuthError) Retryable() bool { return false }

// Permanent reports whether a refresh that failed this way can never
// succeed with the stored grant: the server refused it in words (an OAuth
// error in a 4xx answer, or in a 200 as GitHub answers), as opposed to
// being throttled (429), timing out (408) or failing (5xx), after which the
// stored token is kept for a later try.
func (e *OAuthError) Permanent() bool {
	if e.Status < 400 {
		return e.Code != ""
	}
	return e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout
}

// Authorizing marks an OAuth error as the end of a new authorization, so it
// reads "the authorization failed" rather than "reconnect".
func Authorizing(err error) error {
	var oe *OAuthError
	if errors.As(err, &oe) {
		oe.Authorizing = true
	}
	return err
}

// RefreshRefused reports whether the token endpoint refused a refresh for
// good (any 4xx OAuth error: invalid_grant, invalid_client, Dex's
// invalid_request "already claimed"…): only a new authorization helps.
func RefreshRefused(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Permanent()
}

// ExplainOAuth turns x/oauth2's errors into *OAuthError for vendor, with
// its hints. An answer without an OAuth error code that is a 5xx or a 429,
// and a failure to reach the server, go to other (status 0 then), the
// vendor's own classification. Every word the server chose (error code,
// description, a body that is not OAuth's JSON) is sanitized here, once,
// before any surface shows it.
func ExplainOAuth(vendor string, hints map[string]string, err error, other func(status int, body string, err error) error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &OAuthError{Vendor: vendor, Hints: hints, Code: textsafe.Truncate(re.ErrorCode, 40), Description: textsafe.Truncate(re.ErrorDescription, 200)}
		if re.Response != nil {
			oe.Status = re.Response.StatusCode
		}
		if oe.Code == "" {
			if oe.Status >= 500 || oe.Status == http.StatusTooManyRequests {
				body := string(re.Body)
				if body == "" {
					body = http.StatusText(oe.Status)
				}
				return other(oe.Status, textsafe.Truncate(body, 200), err)
			}
			oe.Code = fmt.Sprintf("HTTP %d", oe.Status)
			oe.Description = textsafe.Truncate(string(re.Body), 200)
		}
		return oe
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return other(0, "", err)
}

// Scopes splits a Scopes field (spaces or commas); empty gives defaults.
func Scopes(field string, defaults []string) []string {
	if scopes := strings.Fields(strings.ReplaceAll(field, ",", " ")); len(scopes) > 0 {
		return scopes
	}
	return defaults
}
