package catalog

import (
	"testing"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/store"
)

// Every card offers only what its connector does: an OAuth method needs an
// OAuthProvider, every vendor syncs, and every field key is one the flow,
// the command line and a reconnect know.
func TestCardsMatchTheirConnectors(t *testing.T) {
	known := map[string]bool{connector.FieldURL: true, connector.FieldToken: true, connector.FieldCAFile: true,
		connector.FieldClientID: true, connector.FieldClientSecret: true, connector.FieldScopes: true}
	for _, v := range Default() {
		if _, ok := v.Connector.(connector.Syncable); !ok {
			t.Errorf("%s cannot sync", v.ID)
		}
		for _, m := range v.Methods {
			if _, ok := v.Connector.(connector.OAuthProvider); m.ID == store.AuthOAuth && !ok {
				t.Errorf("%s offers OAuth without an OAuthProvider", v.ID)
			}
			if _, ok := v.Connector.(connector.TokenAuthorizer); m.ID == store.AuthToken && !ok {
				t.Errorf("%s offers a token without saying how it goes on a request (TokenAuthorizer)", v.ID)
			}
			if m.Field(connector.FieldURL) == nil {
				t.Errorf("%s/%s has no server address", v.ID, m.ID)
			}
			for _, f := range m.Fields {
				if !known[f.Key] {
					t.Errorf("%s/%s: unknown field key %q", v.ID, m.ID, f.Key)
				}
			}
		}
	}
}
