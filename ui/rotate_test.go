package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
)

// On the Integrations page, t rotates the selected token now: the wizard's
// worker runs the sync that carries it, and the page's renewal line moves
// to the successor's (a 30-day token rotated on its first day keeps its
// date: the same lifetime from today).
func TestIntegrationsRotateKey(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	st := openStore(t)
	ctx := context.Background()
	hc := srv.Client()
	v, err := catalog.Default().Vendor("gitlab").Connector.Verify(ctx, flows.VerifyRequest{Method: store.AuthToken, Address: mustAddress(t, srv.BaseURL),
		Values: map[string]string{flows.FieldToken: gitlabtest.DemoTokens.Rotating}, HTTP: hc, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Connection{Vendor: "gitlab", Alias: "renewing", BaseURL: v.BaseURL, AuthMethod: store.AuthToken, Account: v.Account,
		ExpiresAt: v.ExpiresAt, ServerVersion: v.ServerVersion, Rotation: v.Rotation}
	c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Rotating))
	if err := st.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	m := ui.New(ui.Deps{Catalog: catalog.Default(), Store: st, Start: ui.PageIntegrations, Worker: true})
	d := &driver{t: t, m: m, wait: 2 * time.Second}
	d.run(m.Init(), 0)
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	before := "Renews itself on " + c.ExpiresAt.AddDate(0, 0, -7).Format("2006-01-02")
	if v := ansi.Strip(d.view()); !strings.Contains(v, before) || !strings.Contains(v, "t rotate token") {
		t.Fatalf("page:\n%s", v)
	}
	d.keys("t")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := st.Get(ctx, c.ID)
		if got.Rotation.LastRotated != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not rotated: %+v", got.Rotation)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, _ := st.Get(ctx, c.ID)
	d.send(refreshNow())
	after := "Renews itself on " + got.ExpiresAt.AddDate(0, 0, -7).Format("2006-01-02")
	if v := ansi.Strip(d.view()); !strings.Contains(v, after) || got.Secret(store.SecretToken).Reveal() == gitlabtest.DemoTokens.Rotating {
		t.Fatalf("after the rotation (%s):\n%s", after, v)
	}
	if srv.Sandbox.Rotations() != 1 || srv.Sandbox.FamilyRevocations() != 0 {
		t.Fatalf("%d rotations, %d families revoked", srv.Sandbox.Rotations(), srv.Sandbox.FamilyRevocations())
	}
}
