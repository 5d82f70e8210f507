package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

// reconnectEnv is the wizard on the Integrations page with one token
// connection, "prod", to a sandbox.
func reconnectEnv(t *testing.T) (*uitest.Screen, store.Backend, *store.Connection) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 5}).Start()
	t.Cleanup(srv.Close)
	st := openStore(t)
	c := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee",
		Account: store.Account{Username: "root"}, State: store.StateConnected}
	c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	m := ui.New(ui.Deps{Catalog: cat, Store: st, Start: ui.PageIntegrations, Flow: flows.Deps{Timeout: 5 * time.Second}})
	s := uitest.Start(t, m, 100, 30)
	s.WaitFor("Integrations", "prod")
	return s, st, c
}

// Backing out of a reconnect ends it: a later onboarding is a new
// connection with its own alias, and the reconnected one is untouched
// (issue 10, item 1: it used to be replaced by the new one).
func TestBackingOutOfAReconnectEndsIt(t *testing.T) {
	s, st, prod := reconnectEnv(t)
	s.Press("r")
	s.WaitFor("Reconnect prod", "Access token")
	s.Press("esc")
	s.WaitFor("Reconnect prod", "How should onramp sign in to GitLab?")
	s.Press("esc")
	s.WaitFor("Integrations", "prod")

	s.Press("a")
	s.WaitFor("Which app do you want to connect?")
	if strings.Contains(s.Text(), "Reconnect") {
		t.Fatalf("a new onboarding still says reconnect:\n%s", s.Text())
	}
	s.Press("enter", "up", "enter")
	s.WaitFor("GitLab server URL", "Connection Alias")
	s.Press("enter")
	s.Paste(gitlabtest.DemoTokens.NonAdmin + "\n")
	s.Press("enter")
	s.WaitFor("already has 1 GitLab connection") // the alias is asked
	s.Press("ctrl+u")
	s.Type("staging")
	s.Press("enter")
	s.WaitFor("SUCCESS!")
	s.Press("enter")
	s.WaitFor("Integrations", "2 connections")
	if !selectedRow(s.Text(), "staging") { // the one just made is selected (issue 10, item 6)
		t.Fatalf("the new connection is not selected:\n%s", s.Text())
	}

	conns, _ := st.List(context.Background(), store.ListOptions{})
	if len(conns) != 2 {
		t.Fatalf("%d connections, want the old one and the new one", len(conns))
	}
	got, _ := st.Get(context.Background(), prod.ID)
	if got.AuthMethod != store.AuthToken || got.Secret(store.SecretToken) != prod.Secret(store.SecretToken) || got.Alias != "prod" {
		t.Fatalf("the reconnected connection changed: %+v", got)
	}
}

// A reconnect keeps its vendor and asks before changing the auth method.
func TestReconnectAsksBeforeSwitchingMethod(t *testing.T) {
	s, _, _ := reconnectEnv(t)
	s.Press("r")
	s.WaitFor("Reconnect prod", "Access token")
	s.Press("esc")
	s.WaitFor("Reconnect prod", "How should onramp sign in to GitLab?")
	s.Press("down", "enter") // OAuth2
	s.WaitFor("Switch prod from API access token to OAuth2?", "[y/n]")
	s.Press("n")
	for deadline := time.Now().Add(5 * time.Second); strings.Contains(s.Text(), "Switch prod"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the question stayed after n:\n%s", s.Text())
		}
	}
	if !strings.Contains(s.Text(), "How should onramp sign in to GitLab?") {
		t.Fatalf("n left the page:\n%s", s.Text())
	}
	s.Press("enter")
	s.WaitFor("Switch prod from API access token to OAuth2?")
	s.Press("y")
	s.WaitFor("Reconnect prod", "create an OAuth application") // the new method's preparation steps
	if strings.Contains(s.Text(), "you will be asked for a Connection Alias") {
		t.Fatal("a reconnect promises an alias step")
	}
}

func TestReconnectFlowRefusesAnotherVendorAndAnUnconfirmedSwitch(t *testing.T) {
	other := &flows.Vendor{ID: "other", Name: "Other", Methods: []flows.AuthMethod{{ID: store.AuthToken, Name: "Token"}}}
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{}), other}
	c := flows.NewConnect(flows.Deps{Catalog: cat, Store: openStore(t)})
	conn := &store.Connection{ID: "c_1", Vendor: "gitlab", Alias: "prod", BaseURL: "https://gitlab.example.com", AuthMethod: store.AuthToken}
	if err := c.Reconnect(conn); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseVendor("other"); err == nil || !strings.Contains(err.Error(), "keeps prod's vendor") {
		t.Fatalf("vendor changed on a reconnect: %v", err)
	}
	if err := c.ChooseMethod(store.AuthOAuth); err != flows.ErrMethodSwitch {
		t.Fatalf("method changed without a yes: %v", err)
	}
	c.ConfirmMethodSwitch(store.AuthOAuth)
	if err := c.ChooseMethod(store.AuthOAuth); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(store.AuthToken); err != nil { // back to its own method: no question
		t.Fatal(err)
	}
}

// selectedRow reports whether the table's selected row (›) is alias's.
func selectedRow(screen, alias string) bool {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "› ") && strings.Contains(line, alias) {
			return true
		}
	}
	return false
}

// A reconnect of an OAuth connection can change its scopes (issue 10,
// item 3: "add admin_mode and reconnect" had no way in): esc from the
// authorization leads to the fields, scopes included.
func TestReconnectCanChangeScopes(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	st := openStore(t)
	c := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: srv.BaseURL, AuthMethod: store.AuthOAuth, ClientID: gitlabtest.DemoApp.UID,
		Scopes: []string{"read_api", "read_user"}, State: store.StateConnected}
	c.SetSecret(store.SecretClientSecret, store.Secret(gitlabtest.DemoApp.Secret))
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	s := uitest.Start(t, ui.New(ui.Deps{Catalog: cat, Store: st, Start: ui.PageIntegrations, Flow: flows.Deps{Remote: true, Timeout: 5 * time.Second}}), 120, 40)
	s.WaitFor("Integrations", "prod")
	s.Press("r")
	s.WaitFor("Reconnect prod", "Authorize with OAuth2")
	s.Press("esc")
	s.WaitFor("Reconnect prod", "Scopes", "read_api read_user")
}

// A reconnect's fields page is titled for the reconnect and does not offer
// an alias: the connection keeps its own (issue 21, item 6).
func TestReconnectFieldsPageSaysReconnect(t *testing.T) {
	s, _, _ := reconnectEnv(t)
	s.Press("r")
	s.WaitForWithout([]string{"Reconnect prod · API access token", "Access token"}, []string{"Connect GitLab", "alias (ctrl+n)", "ctrl+n alias"})
}
