package ui

import (
	"slices"
	"testing"

	"github.com/onramp-dev/onramp/flows"
)

// The wizard's stdout (for scripts) lists the connections made or
// reconnected in the run and still there, once each (issue 10, item 9: a
// reconnected alias was printed twice, a removed one printed anyway).
func TestCreatedIsTheFinalSetOnce(t *testing.T) {
	m := New(Deps{Catalog: flows.DefaultCatalog()})
	m.made = []madeConn{{"c_1", "prod"}, {"c_2", "staging"}, {"c_1", "prod"}, {"c_3", "qa"}}
	m.Update(removedMsg{id: "c_2"})
	if got := m.Created(); !slices.Equal(got, []string{"prod", "qa"}) {
		t.Fatalf("created %v", got)
	}
}
