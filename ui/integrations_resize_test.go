package ui_test

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/ui/integrations"
	uitheme "github.com/onramp-dev/onramp/ui/theme"
)

// Issue 21, item 2: four connections, the last selected, the window
// shrunk then grown: every row is drawn again, and while rows are out of
// view the page says how many and where.
func TestIntegrationsRowsComeBackAfterAResize(t *testing.T) {
	var rows []flows.Status
	for i := range 4 {
		rows = append(rows, flows.Status{Integration: flows.Integration{ID: fmt.Sprint("c", i), Vendor: "gitlab", Alias: fmt.Sprintf("conn-%d", i)}})
	}
	page := integrations.New(rows, nil, "", uitheme.New(true))
	page.SetSize(80, 20)
	for range 3 {
		page.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	}
	page.SetSize(60, 12) // room for two rows
	small := page.View()
	if strings.Contains(small, "conn-0") || !strings.Contains(small, "conn-3") || !strings.Contains(small, "▲ 2 more above") {
		t.Fatalf("small window:\n%s", small)
	}
	page.SetSize(120, 36)
	big := page.View()
	for i := range 4 {
		if !strings.Contains(big, fmt.Sprintf("conn-%d", i)) {
			t.Fatalf("conn-%d hidden after the window grew:\n%s", i, big)
		}
	}
	if strings.Contains(big, "more above") || strings.Contains(big, "more below") {
		t.Fatalf("a 'more' line with every row shown:\n%s", big)
	}
	page.Update(tea.KeyPressMsg{Code: tea.KeyUp})
	page.SetSize(60, 12)
	if v := page.View(); !strings.Contains(v, "more below") && !strings.Contains(v, "more above") {
		t.Fatalf("rows out of view, unsaid:\n%s", v)
	}
}
