package ui_test

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
)

// typeText sends each character as a key press, as a person types.
func (d *driver) typeText(s string) {
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// A default server address is a suggestion: typing replaces it instead of
// being appended ("https://gitlab.comhttp//127.0.0.1:35765"), → keeps it
// for editing, enter keeps it (issue 21, item 1).
func TestServerURLSuggestionIsReplacedByTyping(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter") // GitLab, API access token, the fields
	d.page(ui.PageFields)
	if v := ansi.Strip(d.view()); !strings.Contains(v, "https://gitlab.com") || !strings.Contains(v, "typing replaces it") {
		t.Fatalf("the suggestion is not shown as one:\n%s", v)
	}
	d.typeText("http://127.0.0.1:35765")
	d.keys("tab")
	if got := d.m.Flow().Values["url"]; got != "http://127.0.0.1:35765" {
		t.Fatalf("url = %q, want the typed address alone", got)
	}
	if strings.Contains(ansi.Strip(d.view()), "typing replaces it") {
		t.Fatal("a typed value is still called a suggestion")
	}

	// → keeps the suggestion and edits it.
	d = newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter", "right")
	d.typeText("/sub")
	d.keys("tab")
	if got := d.m.Flow().Values["url"]; got != "https://gitlab.com/sub" {
		t.Fatalf("url = %q after → and typing, want the suggestion edited", got)
	}
}

// The alias onramp suggests is a suggestion too, and it follows the URL
// until the person edits it (issue 21, item 1).
func TestAliasSuggestionFollowsTheURL(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	other := gitlabtest.New(gitlabtest.Options{}).Start()
	defer other.Close()
	st := openStore(t)
	if err := st.Create(context.Background(), &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: "https://gitlab.example.com", AuthMethod: "token", Account: store.Account{Username: "root"}}); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}, st)
	d.keys("enter", "up", "enter", "enter")
	d.send(tea.PasteMsg{Content: gitlabtest.DemoTokens.Admin})
	d.keys("enter")
	d.page(ui.PageAlias)
	first := gitlab.Card(gitlab.CardOptions{}).Connector.DefaultAlias(mustAddress(t, srv.BaseURL), nil)
	if v := ansi.Strip(d.view()); !strings.Contains(v, first) || !strings.Contains(v, "typing replaces it") {
		t.Fatalf("alias page does not suggest %q:\n%s", first, v)
	}
	d.keys("esc") // back to fix the URL
	d.page(ui.PageFields)
	if d.m.Flow().Alias != "" {
		t.Fatalf("an untouched suggestion was kept as typed: %q", d.m.Flow().Alias)
	}
	d.keys("up")
	d.send(tea.PasteMsg{Content: other.BaseURL})
	d.keys("enter", "enter")
	d.page(ui.PageAlias)
	second := gitlab.Card(gitlab.CardOptions{}).Connector.DefaultAlias(mustAddress(t, other.BaseURL), nil)
	if v := ansi.Strip(d.view()); !strings.Contains(v, second) {
		t.Fatalf("alias did not follow the URL to %q:\n%s", second, v)
	}
	d.typeText("eu")
	if got := d.m.Flow().Alias; got != "" {
		t.Fatalf("flow alias %q before enter", got)
	}
	d.keys("esc")
	if got := d.m.Flow().Alias; got != "eu" {
		t.Fatalf("typed alias = %q, want %q (typing replaces the suggestion)", got, "eu")
	}
}
