package catalog

import (
	"regexp"
	"testing"

	"github.com/onramp-dev/onramp/connector"
)

// Every card offers only what its connector does: an OAuth method needs an
// OAuthProvider, a token method a TokenAuthorizer, every vendor syncs,
// every method says where the instance lives, and every field key is one
// the command line can make a flag of.
func TestCardsMatchTheirConnectors(t *testing.T) {
	flagSafe := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, v := range Default() {
		if _, ok := v.Connector.(connector.Syncable); !ok {
			t.Errorf("%s cannot sync", v.ID)
		}
		for _, m := range v.Methods {
			if _, ok := v.Connector.(connector.OAuthProvider); m.Kind == connector.MethodOAuth && !ok {
				t.Errorf("%s offers OAuth without an OAuthProvider", v.ID)
			}
			if _, ok := v.Connector.(connector.TokenAuthorizer); m.Kind == connector.MethodToken && !ok {
				t.Errorf("%s offers a token without saying how it goes on a request (TokenAuthorizer)", v.ID)
			}
			addresses := 0
			for _, f := range m.Fields {
				if f.Address {
					addresses++
				}
				if !flagSafe.MatchString(f.Key) {
					t.Errorf("%s/%s: field key %q cannot be a flag", v.ID, m.ID, f.Key)
				}
				if (f.Generate == nil) != (f.Public == nil) || (f.Generate != nil && !f.Secret) {
					t.Errorf("%s/%s: generated field %q needs Generate, Public and Secret", v.ID, m.ID, f.Key)
				}
			}
			if addresses != 1 {
				t.Errorf("%s/%s has %d address fields", v.ID, m.ID, addresses)
			}
		}
	}
}
