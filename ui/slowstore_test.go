package ui_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

// gatedStore holds its reads while the gate is shut: a store on a slow
// disk or a far database.
type gatedStore struct {
	store.Backend
	mu   sync.Mutex
	gate chan struct{} // nil: open
}

func (g *gatedStore) shut() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedStore) open() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

// wait holds a read while the gate is shut, five seconds at most (a wizard
// that reads on its UI goroutine then fails the test rather than hang it).
func (g *gatedStore) wait() {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(5 * time.Second):
		}
	}
}

func (g *gatedStore) List(ctx context.Context, o store.ListOptions) ([]store.Connection, error) {
	g.wait()
	return g.Backend.List(ctx, o)
}

func (g *gatedStore) Find(ctx context.Context, vendor, alias string) (*store.Connection, error) {
	g.wait()
	return g.Backend.Find(ctx, vendor, alias)
}

func (g *gatedStore) Get(ctx context.Context, id string) (*store.Connection, error) {
	g.wait()
	return g.Backend.Get(ctx, id)
}

// Issue 14: the wizard's store calls leave the Bubble Tea goroutine. With
// the store's reads held, the steps that read it (the alias step after the
// fields, the alias check, a reconnect) wait while the wizard still answers
// keys; released, they go on.
func TestSlowStoreKeepsTheWizardResponsive(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true}).Start()
	defer srv.Close()
	st := &gatedStore{Backend: openStore(t)}
	first := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken}
	first.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
	if err := st.Create(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	s := uitest.Start(t, ui.New(ui.Deps{Catalog: cat, Store: st, Flow: flows.Deps{Timeout: 5 * time.Second}}), 80, 24)
	s.WaitFor("Which app do you want to connect?")
	s.Press("enter")
	s.WaitFor("How should onramp sign in to GitLab?")
	s.Press("up", "enter")
	s.WaitFor("you will be asked for a Connection Alias")
	s.Press("enter")
	s.Paste(gitlabtest.DemoTokens.NonAdmin)

	st.shut()
	s.Press("enter") // the fields are done: the alias step reads the store
	s.Press("up")    // … and the wizard answers keys meanwhile
	s.WaitForWithout([]string{"› GitLab server URL"}, []string{"Already connected:"})
	st.open()
	s.WaitFor("Connection Alias", "Already connected:", "prod")

	st.shut()
	s.Press("ctrl+u")
	s.Type("prod")
	s.Press("enter") // checked against the store off the UI goroutine
	s.Type("x")
	s.WaitForWithout([]string{"prodx"}, []string{"is already the alias"})
	st.open()
	s.WaitFor("is already the alias of the GitLab connection")
}
