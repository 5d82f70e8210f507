package connector

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// GitHub answers OAuth errors with HTTP 200; GitLab with 4xx. Both are
// refusals in words (a dead grant), unlike a throttled or failing server.
func TestOAuthErrorPermanence(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code      string
		permanent bool
	}{
		{200, "bad_verification_code", true}, {0, "access_denied", true}, {400, "invalid_grant", true}, {401, "invalid_client", true},
		{429, "slow_down", false}, {408, "", false}, {503, "", false},
	} {
		e := &OAuthError{Vendor: "V", Code: tc.code, Status: tc.status}
		if e.Permanent() != tc.permanent {
			t.Errorf("%d %q: permanent %v", tc.status, tc.code, e.Permanent())
		}
	}
}

// One vendor's words for one failure: GitHub's codes map onto the same
// sentences and fields as RFC 6749's, with the vendor's own hint.
func TestExplainOAuthSpeaksForTheVendor(t *testing.T) {
	hints := map[string]string{"invalid_client": "copy the client ID again"}
	other := func(status int, body string, err error) error { return errors.New("other: " + body) }
	resp := &http.Response{StatusCode: 200}
	err := ExplainOAuth("GitHub", hints, &oauth2.RetrieveError{Response: resp, ErrorCode: "incorrect_client_credentials"}, other)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Field() != FieldClientID || oe.Hint() != "copy the client ID again" ||
		err.Error() != "GitHub did not accept the application's client ID or secret (incorrect_client_credentials)" {
		t.Fatalf("%v (%s)", err, oe.Hint())
	}
	err = ExplainOAuth("GitLab", nil, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 502}, Body: []byte("bad gateway \x1b[2J")}, other)
	if !strings.HasPrefix(err.Error(), "other: bad gateway") || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("5xx without a code: %q", err)
	}
	err = Authorizing(ExplainOAuth("GitHub", nil, &oauth2.RetrieveError{ErrorCode: "bad_verification_code"}, other))
	if !strings.HasPrefix(err.Error(), "the authorization failed (bad_verification_code): GitHub did not accept the authorization code") {
		t.Fatal(err)
	}
}
