package ui_test

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/ui"
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
	m := ui.New(ui.Deps{Catalog: flows.DefaultCatalog(), Store: st})
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
