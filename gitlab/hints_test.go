package gitlab

import (
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/connector"
)

// Hints are read in the wizard, by `onramp connect` and in logs: none may
// name a key or a place on a screen.
func TestHintsFitEverySurface(t *testing.T) {
	for k := KindOther; k <= KindBlocked; k++ {
		h := strings.ToLower((&Error{Kind: k, Host: "h"}).Hint())
		for _, bad := range []string{"press ", "esc", "ctrl+", "enter", "below", "above", "tab"} {
			if strings.Contains(h, bad) {
				t.Errorf("kind %d hint %q names %q", k, h, bad)
			}
		}
	}
	for _, code := range []string{"invalid_grant", "invalid_client", "invalid_scope", "access_denied", "expired_token", "x"} {
		for _, authorizing := range []bool{false, true} {
			h := strings.ToLower((&connector.OAuthError{Vendor: "GitLab", Hints: oauthHints, Code: code, Authorizing: authorizing}).Hint())
			if strings.Contains(h, "press ") || strings.Contains(h, "below") {
				t.Errorf("%s hint %q", code, h)
			}
		}
	}
}
