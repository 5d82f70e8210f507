package ui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/onramp-dev/onramp/catalog"
)

// The wizard's stdout (for scripts) lists the connections made or
// reconnected in the run and still there, once each (issue 10, item 9: a
// reconnected alias was printed twice, a removed one printed anyway).
func TestCreatedIsTheFinalSetOnce(t *testing.T) {
	m := New(Deps{Catalog: catalog.Default()})
	m.made = []madeConn{{"c_1", "prod"}, {"c_2", "staging"}, {"c_1", "prod"}, {"c_3", "qa"}}
	m.Update(removedMsg{id: "c_2", alias: "staging"})
	if got := m.Created(); !slices.Equal(got, []string{"prod", "qa"}) {
		t.Fatalf("created %v", got)
	}
	if m.status != "Removed staging." { // issue 21, item 6: it says what
		t.Fatalf("status %q", m.status)
	}
}

// The last frame is blank (still on the alternate screen), so a terminal
// that lost that screen on a resize keeps none of the wizard's lines
// (issue 10, item 10).
func TestLastFrameIsBlank(t *testing.T) {
	m := New(Deps{Catalog: catalog.Default()})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(m.View().Content, "Which app") {
		t.Fatal("the first frame is not the catalog")
	}
	if cmd := m.exit(); cmd == nil {
		t.Fatal("exit does not quit")
	}
	v := m.View()
	if v.Content != "" || !v.AltScreen {
		t.Fatalf("last frame %q (alt screen %v), want blank on the alternate screen", v.Content, v.AltScreen)
	}
}

// A frame drawn before the first size is not kept when that size comes,
// even when it equals the default 80×24: the pages are sized by it (the
// cards were drawn 20 columns wide).
func TestFirstSizeRedrawsEvenAt80x24(t *testing.T) {
	m := New(Deps{Catalog: catalog.Default()})
	m.View()
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := m.View().Content; !strings.Contains(v, "Inventory of users and seats") {
		t.Fatalf("the first size did not reach the pages:\n%s", v)
	}
	before := m.View().Content
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24}) // the same size again: the same frame
	m.Update(tea.EnvMsg{})
	if m.frame == nil || m.View().Content != before {
		t.Fatal("a message that changes nothing drew the frame again")
	}
}
