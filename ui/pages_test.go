package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/common"
	"github.com/onramp-dev/onramp/ui/fields"
	"github.com/onramp-dev/onramp/ui/uitest"
	"github.com/onramp-dev/onramp/ui/vendors"
)

// driver feeds messages to the root model synchronously and runs the
// commands that answer at once (page changes, status), dropping timers.
type driver struct {
	t *testing.T
	m *ui.Model
	// wait is how long a command may take before it counts as a timer and
	// is dropped; 50 ms by default.
	wait time.Duration
}

func newDriver(t *testing.T, cat flows.Catalog, st store.Store) *driver {
	m := ui.New(ui.Deps{Catalog: cat, Store: st, Flow: flows.Deps{Timeout: 3 * time.Second}})
	d := &driver{t: t, m: m}
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	return d
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd, 0)
}

func (d *driver) run(cmd tea.Cmd, depth int) {
	if cmd == nil || depth > 8 {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		switch msg := msg.(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				d.run(c, depth+1)
			}
		case nil:
		default:
			_, next := d.m.Update(msg)
			d.run(next, depth+1)
		}
	case <-time.After(max(d.wait, 50*time.Millisecond)): // a timer or slow work: not ours to wait for
	}
}

func (d *driver) keys(names ...string) {
	for _, n := range names {
		d.send(uitest.Key(n))
	}
}

func (d *driver) view() string { return d.m.View().Content }

func (d *driver) page(want ui.Page) {
	d.t.Helper()
	if got := d.m.Current(); got != want {
		d.t.Fatalf("on page %v, want %v; screen:\n%s", got, want, d.view())
	}
}

func TestNavigationForwardAndBack(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.page(ui.PageVendors)
	d.keys("esc", "shift+tab") // first screen: back never quits
	d.page(ui.PageVendors)
	d.keys("enter")
	d.page(ui.PageMethod)
	d.keys("esc")
	d.page(ui.PageVendors)
	d.keys("enter", "up", "enter")
	d.page(ui.PageFields)
	f := d.m.PageModel(ui.PageFields).(*fields.Model)
	if f.Focused() != "url" {
		t.Fatalf("focus %s", f.Focused())
	}
	d.keys("tab")
	if f.Focused() != "token" {
		t.Fatalf("tab: focus %s", f.Focused())
	}
	d.keys("shift+tab") // previous field first
	if f.Focused() != "url" || d.m.Current() != ui.PageFields {
		t.Fatalf("shift+tab from token: %s on %v", f.Focused(), d.m.Current())
	}
	d.keys("shift+tab") // then the previous screen
	d.page(ui.PageMethod)
	d.keys("enter")
	d.page(ui.PageFields)
	d.keys("esc")
	d.page(ui.PageMethod)
}

func TestOAuthIntroThenFields(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "enter") // OAuth2, the recommended method, is preselected
	d.page(ui.PageFields)
	if !strings.Contains(d.view(), "create an OAuth application") || !strings.Contains(d.view(), "http://127.0.0.1/onramp/callback") {
		t.Fatalf("no intro:\n%s", d.view())
	}
	// One key copies the redirect URI on the steps and on the fields
	// (issue 10, item 11: it was ctrl+y here and ctrl+r on the next page).
	copies := func() bool {
		_, cmd := d.m.Update(uitest.Key("ctrl+r"))
		for _, msg := range flatten(cmd) {
			if fmt.Sprint(msg) == "http://127.0.0.1/onramp/callback" {
				return true
			}
		}
		return false
	}
	if !copies() || !strings.Contains(d.view(), "ctrl+r") {
		t.Fatalf("ctrl+r does not copy the redirect URI on the steps:\n%s", d.view())
	}
	d.keys("enter")
	if !copies() {
		t.Fatal("ctrl+r does not copy the redirect URI on the fields")
	}
	f := d.m.PageModel(ui.PageFields).(*fields.Model)
	if f.Focused() != "url" || !strings.Contains(d.view(), "Application ID") || !strings.Contains(d.view(), "read_api read_user") {
		t.Fatalf("fields:\n%s", d.view())
	}
	d.keys("esc")
	d.page(ui.PageMethod)
}

func TestFieldsValidationKeepsInput(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter")
	f := d.m.PageModel(ui.PageFields).(*fields.Model)
	d.keys("ctrl+u")
	d.send(tea.PasteMsg{Content: "ftp://gitlab.example.com"})
	d.keys("enter")
	if f.Focused() != "url" || !strings.Contains(f.Error("url"), "ftp") {
		t.Fatalf("bad URL: focus %s, error %q", f.Focused(), f.Error("url"))
	}
	if f.Value("url") != "ftp://gitlab.example.com" {
		t.Fatal("typed URL lost")
	}
	if !strings.Contains(d.view(), "✗ Onramp reaches GitLab over https") {
		t.Fatalf("error not shown:\n%s", d.view())
	}
	d.keys("ctrl+u")
	d.send(tea.PasteMsg{Content: "gitlab.example.com/api/v4/"})
	d.keys("enter")
	if f.Focused() != "token" || d.m.Flow().Values["url"] != "https://gitlab.example.com" {
		t.Fatalf("normalised URL: %q", d.m.Flow().Values["url"])
	}
	d.keys("enter") // empty token
	if !strings.Contains(f.Error("token"), "required") {
		t.Fatalf("empty token: %q", f.Error("token"))
	}
	// Leaving and coming back keeps what was typed.
	d.send(tea.PasteMsg{Content: "glpat-typed-before-leaving"})
	d.keys("esc", "enter")
	f = d.m.PageModel(ui.PageFields).(*fields.Model)
	if f.Value("token") != "glpat-typed-before-leaving" || f.Value("url") != "https://gitlab.example.com" {
		t.Fatalf("values lost going back: %q %q", f.Value("url"), f.Value("token"))
	}
	if strings.Contains(d.view(), "glpat-typed-before-leaving") {
		t.Fatal("token shown in clear")
	}
}

func TestCopyLinkUsesOSC52(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter", "tab")
	_, cmd := d.m.Update(uitest.Key("ctrl+y"))
	if cmd == nil {
		t.Fatal("ctrl+y did nothing")
	}
	var found bool
	for _, msg := range flatten(cmd) {
		if fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" && fmt.Sprint(msg) == "https://gitlab.com/-/user_settings/personal_access_tokens?name=onramp&scopes=read_api,read_user" {
			found = true
		}
	}
	if !found {
		t.Fatal("no clipboard message with the token page")
	}
	if !strings.Contains(d.view(), "\x1b]8;;https://gitlab.com/-/user_settings/personal_access_tokens?name=onramp&scopes=read_api,read_user") {
		t.Fatal("token page is not an OSC 8 link")
	}
}

func flatten(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, flatten(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func TestQuitAsksOnlyWhenSomethingWasTyped(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	_, cmd := d.m.Update(uitest.Key("ctrl+c"))
	if cmd == nil || fmt.Sprintf("%T", cmd()) != "tea.QuitMsg" || !d.m.Aborted {
		t.Fatal("ctrl+c on a clean first screen should quit as aborted")
	}
	d = newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter")
	d.send(tea.PasteMsg{Content: "gitlab.example.com"})
	_, cmd = d.m.Update(uitest.Key("ctrl+c"))
	if cmd != nil || !strings.Contains(d.view(), "Quit onramp? What you typed will be lost.") {
		t.Fatalf("no confirmation:\n%s", d.view())
	}
	d.keys("n")
	if strings.Contains(d.view(), "Quit onramp?") {
		t.Fatal("confirmation did not go away")
	}
	d.page(ui.PageFields)
	d.m.Update(uitest.Key("ctrl+c"))
	_, cmd = d.m.Update(uitest.Key("y"))
	if cmd == nil || !d.m.Aborted {
		t.Fatal("y did not quit")
	}
}

func TestResizeRelays(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter", "up", "enter", "tab")
	for _, size := range [][2]int{{80, 24}, {60, 20}, {120, 40}, {50, 15}, {40, 12}} {
		d.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(d.view(), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := common.Width(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, l)
			}
		}
		want := "Access token"
		if size[0] < 50 {
			want = "window too small (needs 50×15"
		}
		if !strings.Contains(d.view(), want) {
			t.Errorf("%dx%d: %q not visible", size[0], size[1], want)
		}
	}
}

// catalogOf builds n vendors (the GitLab card's shape, distinct names).
func catalogOf(n int) flows.Catalog {
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{})}
	for i := 1; i < n; i++ {
		v := *cat[0]
		v.ID = fmt.Sprintf("vendor%03d", i)
		v.Name = fmt.Sprintf("Vendor %03d", i)
		v.Description = fmt.Sprintf("Inventory of vendor %d's accounts and licenses.", i)
		cat = append(cat, &v)
	}
	return cat
}

func TestVendorFilterAndScroll(t *testing.T) {
	d := newDriver(t, catalogOf(200), openStore(t))
	v := d.m.PageModel(ui.PageVendors).(*vendors.Model)
	d.send(tea.PasteMsg{Content: "vendor 19"})
	if got := v.Selected(); got == nil || got.Name != "Vendor 019" {
		t.Fatalf("filter: %+v", got)
	}
	if !strings.Contains(d.view(), " vendors") {
		t.Fatalf("count line:\n%s", d.view())
	}
	d.keys("ctrl+u")
	d.send(tea.PasteMsg{Content: "no such vendor"})
	if !strings.Contains(d.view(), "No vendor matches") {
		t.Fatal("empty result not explained")
	}
	d.keys("enter") // nothing to choose
	d.page(ui.PageVendors)
	d.keys("esc")
	if v.Filter() != "" {
		t.Fatal("esc did not clear the filter")
	}
	for range 150 {
		d.keys("down")
	}
	if v.Selected().Name != "Vendor 150" || !strings.Contains(d.view(), "Vendor 150") {
		t.Fatalf("scrolling: %s", v.Selected().Name)
	}
}

func TestAliasAskedAndValidated(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	st := openStore(t)
	existing := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: "https://gitlab.example.com", AuthMethod: "token", Account: store.Account{Username: "root"}}
	if err := st.Create(context.Background(), existing); err != nil {
		t.Fatal(err)
	}
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: srv.BaseURL})}
	d := newDriver(t, cat, st)
	d.keys("enter", "up", "enter", "enter")
	d.send(tea.PasteMsg{Content: gitlabtest.DemoTokens.Admin})
	d.keys("enter")
	d.page(ui.PageAlias)
	if !strings.Contains(d.view(), "prod") || !strings.Contains(d.view(), "already has 1 GitLab connection") {
		t.Fatalf("alias screen:\n%s", d.view())
	}
	d.keys("ctrl+u")
	d.send(tea.PasteMsg{Content: "PROD"})
	d.keys("enter")
	d.page(ui.PageAlias)
	if !strings.Contains(d.view(), "already the alias") {
		t.Fatalf("clash not explained:\n%s", d.view())
	}
	d.keys("ctrl+u")
	d.send(tea.PasteMsg{Content: "bad alias!"})
	d.keys("enter")
	if !strings.Contains(d.view(), "Use only letters") {
		t.Fatalf("format not explained:\n%s", d.view())
	}
	d.keys("esc") // back to the fields; the typed alias is kept for later
	d.page(ui.PageFields)
	if d.m.Flow().Alias != "bad alias!" {
		t.Fatalf("alias lost: %q", d.m.Flow().Alias)
	}
}

// mustAddress is a GitLab address as the wizard's flow parses it.
func mustAddress(t *testing.T, raw string) connector.Address {
	t.Helper()
	at, err := gitlab.NormalizeURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
