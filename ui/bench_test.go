package ui_test

import (
	"context"
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
	"github.com/onramp-dev/onramp/ui/uitest"
)

// benchKeys measures one keystroke to an updated view: Update then View, as
// the program does for every key.
func benchKeys(b *testing.B, m *ui.Model, keys []tea.Msg) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Update(keys[i%len(keys)])
		_ = m.View()
		i++
	}
}

func BenchmarkKeystrokeFields(b *testing.B) {
	st := openStoreB(b)
	m := ui.New(ui.Deps{Catalog: catalog.Default(), Store: st})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(uitest.Key("enter"))
	m.Update(uitest.Key("enter"))
	m.Update(uitest.Key("tab"))
	// Type into the token field and delete again, so its length stays put.
	keys := []tea.Msg{uitest.Key("a"), uitest.Key("b"), uitest.Key("backspace"), uitest.Key("backspace")}
	benchKeys(b, m, keys)
}

func BenchmarkKeystrokeVendors200(b *testing.B) {
	m := ui.New(ui.Deps{Catalog: catalogOf(200), Store: openStoreB(b)})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	// Filter, unfilter, and move the cursor through the list.
	keys := []tea.Msg{uitest.Key("1"), uitest.Key("backspace"), uitest.Key("down"), uitest.Key("down"), uitest.Key("up")}
	benchKeys(b, m, keys)
}

// BenchmarkFrameWhileSyncing renders the Integrations page with live
// progress while a sync writes 20,000 users into the same store in the
// background: the frame budget at 60 fps is 16.7 ms.
func BenchmarkFrameWhileSyncing(b *testing.B) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 20000}).Start()
	defer srv.Close()
	st := openStoreB(b)
	c := &store.Connection{Vendor: "gitlab", Alias: "big", BaseURL: srv.BaseURL, AuthMethod: store.AuthToken, ServerVersion: "17.6.1-ee"}
	c.SetSecret(store.SecretToken, store.Secret(gitlabtest.DemoTokens.Admin))
	st.Create(context.Background(), c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan flows.Progress, 1)
	go func() {
		s := &flows.Syncer{Store: st, Catalog: catalog.Default()}
		for ctx.Err() == nil {
			s.Sync(ctx, c.ID, func(p flows.Progress) {
				select {
				case events <- p:
				default:
				}
			})
		}
	}()
	rows, _ := flows.Statuses(context.Background(), st, catalog.Default(), time.Now(), "")
	page := integrations.New(rows, nil, c.ID, uitheme.New(true))
	page.SetSize(100, 30)
	b.ReportAllocs()
	for b.Loop() {
		select {
		case p := <-events: // the page's reload, as it reads a sync's progress from the store
			for i := range rows {
				rows[i].Live = &p
			}
			page.SetRows(rows, nil)
		default:
		}
		page.Update(uitest.Key("down"))
		_ = page.View()
	}
}
