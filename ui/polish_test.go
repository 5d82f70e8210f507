package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui/common"
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

// ? lists every key of the screen (issue 10, item 11); in a field it is
// just a character.
func TestQuestionMarkShowsAllKeys(t *testing.T) {
	d := newDriver(t, catalog.Default(), openStore(t))
	d.keys("enter") // the method page
	if !strings.Contains(ansi.Strip(d.view()), "? all keys") {
		t.Fatalf("no ? in the bar:\n%s", d.view())
	}
	d.keys("?")
	if v := ansi.Strip(d.view()); !strings.Contains(v, "Keys on this screen") || !strings.Contains(v, "choose") {
		t.Fatalf("? did not list the keys:\n%s", v)
	}
	d.keys("x")
	if strings.Contains(d.view(), "Keys on this screen") {
		t.Fatal("a key did not close the list")
	}
	d.keys("up", "enter", "ctrl+u", "?") // the URL field: "?" is typed
	if strings.Contains(d.view(), "Keys on this screen") || d.m.Flow().Values["url"] != "" && !strings.Contains(d.view(), "?") {
		t.Fatalf("? was taken from a field:\n%s", d.view())
	}
}

// Placeholders read as examples, so that without colours (NO_COLOR) they
// are not taken for typed values (issue 10, item 11).
func TestPlaceholdersReadAsExamples(t *testing.T) {
	for _, m := range gitlab.Card(gitlab.CardOptions{}).Methods {
		for _, f := range m.Fields {
			if f.Placeholder != "" && !strings.HasPrefix(f.Placeholder, "e.g. ") && !strings.HasPrefix(f.Placeholder, "the ") {
				t.Errorf("%s/%s placeholder %q reads like a value", m.ID, f.Key, f.Placeholder)
			}
		}
	}
}

// The details line is wrapped at 80 columns, not cut before the expiry
// ("in …"; issue 21, item 6).
func TestDetailsLineKeepsTheExpiryAt80Columns(t *testing.T) {
	row := flows.Status{Integration: flows.Integration{ID: "a", Alias: "prod-gitlab", Vendor: "GitLab", AuthMethod: "OAuth2",
		Host: "gitlab.internal.example.com:8443/tools/gitlab", Account: "@release-manager", State: "connected",
		Expires: "2027-01-04 (in 31 days)"}, Schedule: "every 24h", Sync: "never synced"}
	p := integrations.New([]flows.Status{row}, nil, "a", theme())
	p.SetSize(80, 30)
	v := ansi.Strip(p.View())
	if !strings.Contains(strings.Join(strings.Fields(v), " "), "expires 2027-01-04 (in 31 days)") {
		t.Fatalf("the expiry is cut:\n%s", v)
	}
}

// No word of a warning is split at a hyphen into a fragment ("e-/mail" at
// 80 columns; issue 21, item 6).
func TestWarningsWrapWithoutSplittingEmail(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	v, err := gitlab.Card(gitlab.CardOptions{}).Connector.Verify(context.Background(), connector.VerifyRequest{HTTP: http.DefaultClient, Address: mustAddress(t, srv.BaseURL),
		Values: map[string]string{connector.FieldToken: gitlabtest.DemoTokens.NonAdmin}, Now: time.Now()})
	if err != nil || len(v.Warnings) == 0 {
		t.Fatalf("verify: %v %+v", err, v)
	}
	for _, w := range v.Warnings {
		for width := 30; width <= 100; width++ {
			for _, l := range strings.Split(common.Wrap(w.Message+" "+w.Action, width), "\n") {
				if strings.HasSuffix(strings.TrimSpace(l), " e-") {
					t.Fatalf("width %d splits e-mail:\n%s", width, common.Wrap(w.Message, width))
				}
			}
		}
	}
}
