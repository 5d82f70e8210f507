package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/integrations"
)

// The Integrations columns do not come and go as a sync's state text grows
// (issue 10, item 11).
func TestIntegrationsColumnsStayPut(t *testing.T) {
	exp := time.Now().Add(48 * time.Hour)
	row := flows.Status{Integration: flows.Integration{ID: "a", Alias: "prod-gitlab", Vendor: "GitLab", Host: "gitlab.example.com:8443/sub",
		Account: "@someone", AuthID: "token", ExpiresAt: &exp, State: "connected"}, Schedule: "every 24h"}
	header := func(r flows.Status) string {
		p := integrations.New([]flows.Status{r}, nil, "a", theme())
		p.SetSize(100, 30)
		return strings.Split(p.View(), "\n")[2]
	}
	quiet := header(row)
	finished := time.Now().Add(-59 * time.Minute)
	row.LastRun = &store.SyncRun{Status: store.RunSucceeded, Users: 123456, FinishedAt: &finished}
	if busy := header(row); strings.Fields(busy)[0] != strings.Fields(quiet)[0] || len(strings.Fields(busy)) != len(strings.Fields(quiet)) {
		t.Fatalf("columns changed with the state:\n%s\n%s", quiet, busy)
	}
}
