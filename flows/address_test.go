package flows

import (
	"context"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/github"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/store"
)

func gitlabAddress(tb testing.TB, raw string) Address {
	tb.Helper()
	at, err := gitlab.NormalizeURL(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return at
}

func githubAddress(tb testing.TB, raw string) Address {
	tb.Helper()
	at, err := github.NormalizeURL(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return at
}

// Work on a stored connection whose address its vendor no longer reads
// says so, with what to do, instead of reaching somewhere else: a
// revocation and an OAuth renewal (the sync: TestUnreadableStoredAddressFailsTheSync).
func TestUnreadableStoredAddressIsNamed(t *testing.T) {
	c := &store.Connection{Vendor: "gitlab", Alias: "odd", BaseURL: "ftp://gitlab.example.com", AuthMethod: store.AuthOAuth, ClientID: "app"}
	err := Revoke(context.Background(), catalog.Default(), c)
	if err == nil || !strings.Contains(err.Error(), "ftp") || !strings.Contains(err.Error(), "onramp reconnect odd") {
		t.Fatalf("revoke: %v", err)
	}
	_, err = (&TokenSource{Vendor: catalog.Default().Vendor("gitlab").Connector}).service(c)
	if err == nil || !strings.Contains(err.Error(), "onramp reconnect odd") {
		t.Fatalf("renewal: %v", err)
	}
}
