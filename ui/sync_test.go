package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/integrations"
	uitheme "github.com/onramp-dev/onramp/ui/theme"
)

func TestQuitWithRunningSyncAsksAndStopsAtCheckpoint(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 3000, Latency: 100 * time.Millisecond}).Start()
	defer srv.Close()
	st := openStore(t)
	c := &store.Connection{Vendor: "gitlab", Alias: "slow", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
	c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
	st.Create(context.Background(), c)

	m := ui.New(ui.Deps{Catalog: catalog.Default(), Store: st, Start: ui.PageIntegrations, Worker: true})
	d := &driver{t: t, m: m, wait: 2 * time.Second}
	d.run(m.Init(), 0)
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if !strings.Contains(d.view(), "slow") {
		t.Fatalf("page:\n%s", d.view())
	}
	// Its first sync (enqueued with it) runs in the wizard's worker.
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, _ := st.Runs(context.Background(), c.ID, 1)
		if len(runs) == 1 && runs[0].Pages > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.send(refreshNow())
	d.keys("q")
	if !strings.Contains(d.view(), "A sync is running. Stop it and quit?") {
		t.Fatalf("no question:\n%s", d.view())
	}
	d.keys("n")
	if strings.Contains(d.view(), "A sync is running") {
		t.Fatal("question stayed after n")
	}
	d.keys("q")
	_, cmd := d.m.Update(tea.KeyPressMsg{Code: 'y', Text: "y"})
	if cmd == nil {
		t.Fatal("y did nothing")
	}
	if msg := cmd(); msg == nil { // waits for the sync to record its checkpoint
		t.Fatal("no stop message")
	}
	runs, _ := st.Runs(context.Background(), c.ID, 1)
	if runs[0].Status != store.RunStopped || runs[0].Checkpoint == "" {
		t.Fatalf("run after quit: %+v", runs[0])
	}
}

func TestIntegrationsProgressBars(t *testing.T) {
	exp := time.Now().Add(48 * time.Hour)
	rows := []flows.Status{{Integration: flows.Integration{ID: "a", Alias: "a", Vendor: "GitLab", Host: "h", Account: "@x", ExpiresAt: &exp, State: "connected"}}}
	p := integrations.New(rows, nil, "a", theme())
	p.SetSize(100, 30)
	rows[0].Live = &flows.Progress{ConnectionID: "a", Status: store.RunRunning, Users: 1200, Pages: 12, Rate: 600}
	p.SetRows(rows, nil)
	if v := p.View(); !strings.Contains(v, "syncing 1200") || !strings.Contains(v, "1200 users · 12 pages") {
		t.Fatalf("indeterminate:\n%s", v)
	}
	total := 4800
	rows[0].Live = &flows.Progress{ConnectionID: "a", Status: store.RunRunning, Users: 1200, Pages: 12, Rate: 600, Total: &total, ETA: 6 * time.Second}
	p.SetRows(rows, nil)
	if v := p.View(); !strings.Contains(v, "syncing 25%") || !strings.Contains(v, "ETA 6s") {
		t.Fatalf("determinate:\n%s", v)
	}
}

func theme() uitheme.Theme { return uitheme.New(true) }

func refreshNow() tea.Msg { return ui.RefreshMsg{} }

func TestFailedSyncShowsReasonAndNextRetry(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 50}).Start()
	defer srv.Close()
	srv.Sandbox.InjectFault(gitlabtest.Fault{PathPrefix: "/users", Status: 404, Times: 5})
	st := openStore(t)
	c := &store.Connection{Vendor: "gitlab", Alias: "flaky", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
	c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
	st.Create(context.Background(), c)
	// The wizard runs the connection's first sync (enqueued with it) in
	// its own worker; the failure is retried by the queue, and the page says
	// when and why, from the store.
	m := ui.New(ui.Deps{Catalog: catalog.Default(), Store: st, Start: ui.PageIntegrations, Worker: true})
	d := &driver{t: t, m: m, wait: 2 * time.Second}
	d.run(m.Init(), 0)
	d.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.view(), "failed · retry") && time.Now().Before(deadline) {
		d.send(refreshNow())
		time.Sleep(100 * time.Millisecond)
	}
	v := d.view()
	if !strings.Contains(v, "failed · retry") || !strings.Contains(v, "the last sync failed: GitLab answered 404") ||
		!strings.Contains(v, "retrying at") || !strings.Contains(v, "(attempt 2 of 7) because GitLab answered 404") {
		t.Fatalf("failure not shown:\n%s", v)
	}
}
