package ui_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/flows"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
	"github.com/onramp-dev/onramp/ui"
	"github.com/onramp-dev/onramp/ui/uitest"
)

type env struct {
	srv *gitlabtest.Server
	st  store.Backend
	m   *ui.Model
	s   *uitest.Screen
}

func openStore(t *testing.T) store.Backend { return openStoreB(t) }

func openStoreB(t testing.TB) store.Backend {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "s.db"), ConfigDir: filepath.Join(dir, "c"), Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// start runs the wizard against a sandbox; base (when set) overrides the
// default server URL offered in the form.
func start(t *testing.T, opts gitlabtest.Options, tls bool, base string, timeout time.Duration) *env {
	sb := gitlabtest.New(opts)
	var srv *gitlabtest.Server
	if tls {
		srv = sb.StartTLS()
	} else {
		srv = sb.Start()
	}
	t.Cleanup(srv.Close)
	if base == "" {
		base = srv.BaseURL
	}
	st := openStore(t)
	cat := flows.Catalog{gitlab.Card(gitlab.CardOptions{DefaultURL: base})}
	m := ui.New(ui.Deps{Catalog: cat, Store: st, Flow: flows.Deps{Timeout: timeout}, Worker: true})
	return &env{srv: srv, st: st, m: m, s: uitest.Start(t, m, 80, 24)}
}

// toToken walks vendor and method, leaving the focus on the token field.
func (e *env) toToken() {
	e.s.WaitFor("Which app do you want to connect?", "GitLab")
	e.s.Press("enter")
	e.s.WaitFor("How should onramp sign in to GitLab?")
	e.s.Press("up", "enter") // OAuth2 is preselected (recommended); the token is above it
	e.s.WaitFor("GitLab server URL", "Access token")
	e.s.Press("enter") // accept the URL, on to the token
}

func TestWizardTokenPathSuccess(t *testing.T) {
	e := start(t, gitlabtest.Options{AdminMode: true}, false, "", 5*time.Second)
	e.toToken()
	e.s.Paste("  " + gitlabtest.DemoTokens.Admin + "\n")
	e.s.Press("enter")
	e.s.WaitFor("SUCCESS!", "@root", "administrator", "17.6.1-ee", "read_api, read_user, admin_mode", "in 365 days")
	if text := e.s.Text(); contains(text, gitlabtest.DemoTokens.Admin) {
		t.Fatal("token on screen")
	}
	e.s.Press("enter")
	e.s.WaitFor("Integrations", "1 connection", "@root (admin)", "users, just now", "Seats (license, ultimate)")
	conns, _ := e.st.List(context.Background(), store.ListOptions{})
	if len(conns) != 1 || conns[0].BaseURL != e.srv.BaseURL {
		t.Fatalf("stored: %+v", conns)
	}
	got, _ := e.st.Get(context.Background(), conns[0].ID)
	if got.Secret(store.SecretToken).Reveal() != gitlabtest.DemoTokens.Admin {
		t.Fatal("token not stored")
	}
	// A second onboarding asks for an alias, with the clash explained.
	e.s.Press("a")
	e.s.WaitFor("Which app do you want to connect?")
	e.s.Press("enter", "up", "enter")
	e.s.WaitFor("you will be asked for a Connection Alias")
	e.s.Press("enter")
	e.s.Paste(gitlabtest.DemoTokens.NonAdmin)
	e.s.Press("enter")
	e.s.WaitFor("Connection Alias", "Already connected:")
	e.s.Press("ctrl+u")
	e.s.Type(conns[0].Alias)
	e.s.Press("enter")
	e.s.WaitFor("is already the alias")
	e.s.Press("ctrl+u")
	e.s.Type("second")
	e.s.Press("enter")
	e.s.WaitFor("SUCCESS!", "connected as second", "not an administrator", "partial")
}

func TestWizardTokenFailuresReturnToTheField(t *testing.T) {
	e := start(t, gitlabtest.Options{}, false, "", 5*time.Second)
	e.toToken()
	cases := []struct{ token, want string }{
		{"glpat-nonsense-000000000000", "does not recognise this token"},
		{gitlabtest.DemoTokens.Expired, "This token has expired"},
		{gitlabtest.DemoTokens.Revoked, "This token was revoked"},
		{gitlabtest.DemoTokens.FewScopes, "scopes do not allow reading the API"},
		{gitlabtest.DemoTokens.Blocked, "blocked"},
	}
	for _, c := range cases {
		e.s.Press("ctrl+u")
		e.s.Paste(c.token)
		e.s.Press("enter")
		e.s.WaitFor(c.want, "› Access token", e.srv.BaseURL)
		if e.m.Current() != ui.PageFields {
			t.Fatalf("%s: on page %v", c.want, e.m.Current())
		}
	}
	e.s.Press("ctrl+u")
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	e.s.Press("enter")
	e.s.WaitFor("SUCCESS!")
}

func TestWizardURLFailures(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + l.Addr().String()
	l.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }))
	defer plain.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirect.Close()

	e := start(t, gitlabtest.Options{}, false, "", 5*time.Second)
	e.toToken()
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	for _, c := range []struct{ url, want string }{
		{"https://gitlab.onramp-test.invalid", "could not be found (DNS)"},
		{refused, "connection refused"},
		{plain.URL, "not as a GitLab server"},
		{redirect.URL, "redirected elsewhere"},
		{"ftp://gitlab.example.com", "ftp address"},
	} {
		e.s.Press("up") // to the URL field; the token stays typed
		e.s.WaitFor("› GitLab server URL")
		e.s.Press("ctrl+u")
		e.s.Type(c.url)
		e.s.Press("tab", "enter")
		e.s.WaitFor(c.want, "› GitLab server URL")
	}
	// Fixing only the URL is enough: the token was kept.
	e.s.Press("ctrl+u")
	e.s.Type(e.srv.BaseURL)
	e.s.Press("tab", "enter")
	e.s.WaitFor("SUCCESS!")
}

func TestWizardInsecureHTTPConfirmation(t *testing.T) {
	e := start(t, gitlabtest.Options{}, false, "http://gitlab.example.com", 2*time.Second)
	e.toToken()
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	e.s.Press("enter")
	e.s.WaitFor("plain http", "[y/n]")
	e.s.Press("n")
	e.s.WaitFor("› GitLab server URL")
	if e.m.Current() != ui.PageFields {
		t.Fatal("left the form after no")
	}
}

func TestWizardTimeoutRetry(t *testing.T) {
	e := start(t, gitlabtest.Options{Latency: 2 * time.Second}, false, "", 300*time.Millisecond)
	e.toToken()
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	e.s.Press("enter")
	e.s.WaitFor("did not answer in time", "Press r to try again")
	e.srv.Sandbox.SetLatency(0)
	e.s.Press("r")
	e.s.WaitFor("SUCCESS!")
}

func TestWizardCancelKeepsFields(t *testing.T) {
	e := start(t, gitlabtest.Options{Latency: 3 * time.Second}, false, "", 10*time.Second)
	e.toToken()
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	e.s.Press("enter")
	e.s.WaitFor("Verifying with")
	e.s.Press("esc")
	e.s.WaitFor("› Access token", "••••")
	if e.m.Flow().Values["token"] != gitlabtest.DemoTokens.Admin {
		t.Fatal("token lost on cancel")
	}
}

func TestWizardPrivateCA(t *testing.T) {
	e := start(t, gitlabtest.Options{}, true, "", 5*time.Second)
	e.toToken()
	e.s.Paste(gitlabtest.DemoTokens.Admin)
	e.s.Press("enter")
	e.s.WaitFor("presents a certificate", "› CA certificate file (PEM)")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, e.srv.CAPEM, 0o600)
	e.s.Type(ca)
	e.s.Press("enter")
	e.s.WaitFor("SUCCESS!")
	conns, _ := e.st.List(context.Background(), store.ListOptions{})
	if len(conns) != 1 || conns[0].CABundle != string(e.srv.CAPEM) {
		t.Fatal("CA not remembered with the connection")
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
