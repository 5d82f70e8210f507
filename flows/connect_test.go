package flows

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

func testStore(t *testing.T) store.Backend {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "s.db"), ConfigDir: filepath.Join(dir, "cfg"), Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newFlow(t *testing.T, st store.Store) *Connect {
	c := NewConnect(Deps{Catalog: catalog.Default(), Store: st, Timeout: 5 * time.Second})
	if err := c.ChooseVendor("gitlab"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(store.AuthToken); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenFlowEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	st := testStore(t)
	c := newFlow(t, st)
	if c.Values[FieldURL] != "https://gitlab.com" {
		t.Fatalf("default URL %q", c.Values[FieldURL])
	}
	if err := c.SetValue(FieldURL, "  "+srv.BaseURL+"/api/v4/  "); err != nil {
		t.Fatal(err)
	}
	if err := c.SetValue(FieldToken, " "+gitlabtest.DemoTokens.Admin+"\n"); err != nil {
		t.Fatal(err)
	}
	if plan, _ := c.AliasCheck().Run(ctx, time.Now()); c.Next(StepFields, plan) != StepAuthorize {
		t.Fatal("alias asked for the first connection")
	}
	v, err := c.Authorize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Account.Username != "root" || v.BaseURL != srv.BaseURL {
		t.Fatalf("verification %+v", v)
	}
	conn, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Alias != "127.0.0.1-"+strings.Split(srv.Listener.Addr().String(), ":")[1] {
		t.Fatalf("default alias %q", conn.Alias)
	}
	got, _ := st.Get(ctx, conn.ID)
	if got.Secret(store.SecretToken).Reveal() != gitlabtest.DemoTokens.Admin || got.TokenName != "onramp" || got.ServerVersion == "" {
		t.Fatalf("stored %+v", got)
	}

	// A second GitLab: the alias is asked for, defaulted uniquely, and a clash is explained.
	c2 := newFlow(t, st)
	c2.SetValue(FieldURL, srv.BaseURL)
	plan, _ := c2.AliasCheck().Run(ctx, time.Now())
	if c2.Next(StepFields, plan) != StepAlias {
		t.Fatal("alias not asked for a second connection")
	}
	if plan.Default != conn.Alias+"-2" {
		t.Fatalf("unique default %q", plan.Default)
	}
	err = c2.SetAlias(ctx, strings.ToUpper(conn.Alias))
	var se *StepError
	if !errors.As(err, &se) || se.Field != "alias" || !errors.Is(err, store.ErrAliasTaken) || !strings.Contains(se.Message, "already") {
		t.Fatalf("clash: %v", err)
	}
	if err := c2.SetAlias(ctx, "Bad Alias!"); err == nil {
		t.Fatal("invalid alias accepted")
	}
	if c2.Alias != "Bad Alias!" {
		t.Fatal("typed alias lost")
	}
}

func TestFailuresKeepValuesAndNameTheField(t *testing.T) {
	ctx := context.Background()
	srv := gitlabtest.New(gitlabtest.Options{}).StartTLS()
	defer srv.Close()
	c := newFlow(t, testStore(t))
	c.SetValue(FieldURL, srv.BaseURL)
	c.SetValue(FieldToken, gitlabtest.DemoTokens.Admin)
	if len(c.VisibleFields()) != 2 {
		t.Fatal("CA field shown before it is needed")
	}
	_, err := c.Authorize(ctx)
	var se *StepError
	if !errors.As(err, &se) || se.Field != FieldCAFile || se.Hint == "" {
		t.Fatalf("unknown CA: %v", err)
	}
	if len(c.VisibleFields()) != 3 || c.Values[FieldToken] != gitlabtest.DemoTokens.Admin {
		t.Fatal("CA field not revealed, or values lost")
	}
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caPath, []byte("not a cert"), 0o600)
	if err := c.SetValue(FieldCAFile, caPath); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("garbage CA: %v", err)
	}
	if err := c.SetValue(FieldCAFile, "/nonexistent/ca.pem"); err == nil {
		t.Fatal("missing CA file accepted")
	}
	os.WriteFile(caPath, srv.CAPEM, 0o600)
	if err := c.SetValue(FieldCAFile, caPath); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authorize(ctx); err != nil {
		t.Fatalf("with CA: %v", err)
	}
	conn, err := c.Save(ctx)
	if err != nil || conn.CABundle != string(srv.CAPEM) {
		t.Fatalf("CA not remembered: %v", err)
	}

	// A bad token: back to the token field, URL kept.
	c.SetValue(FieldToken, gitlabtest.DemoTokens.Expired)
	_, err = c.Authorize(ctx)
	if !errors.As(err, &se) || se.Field != FieldToken || !strings.Contains(se.Message, "expired") {
		t.Fatalf("expired: %v", err)
	}
	if c.Values[FieldURL] != srv.BaseURL {
		t.Fatal("URL lost after a token failure")
	}
}

func TestInsecureHTTPNeedsConfirmation(t *testing.T) {
	c := newFlow(t, testStore(t))
	c.SetValue(FieldURL, "http://gitlab.example.com")
	c.SetValue(FieldToken, "glpat-whatever-0123456789")
	err := c.CheckFields()
	var se *StepError
	if !errors.As(err, &se) || se.Field != FieldURL || !strings.Contains(se.Message, "unencrypted") {
		t.Fatalf("http not questioned: %v", err)
	}
	c.Confirm(FieldURL)
	if err := c.CheckFields(); err != nil {
		t.Fatalf("after confirming: %v", err)
	}
	// Changing the URL withdraws the confirmation.
	c.SetValue(FieldURL, "http://other.example.com")
	if err := c.CheckFields(); err == nil {
		t.Fatal("confirmation survived a new URL")
	}
	c.SetValue(FieldURL, "http://127.0.0.1:8080")
	if err := c.CheckFields(); err != nil {
		t.Fatalf("loopback http questioned: %v", err)
	}
	if err := c.SetValue(FieldURL, "ftp://x"); err == nil {
		t.Fatal("ftp accepted")
	}
	if err := c.SetValue(FieldToken, "   "); err == nil {
		t.Fatal("empty token accepted")
	}
}

func TestCatalogFilter(t *testing.T) {
	cat := catalog.Default()
	for q, want := range map[string]string{"": "gitlab github microsoft", "git": "gitlab github", "GitLab": "gitlab", "seats": "gitlab github microsoft",
		"self-managed inventory": "gitlab", "copilot": "github", "enterprise server": "github", "entra": "microsoft", "office licenses": "microsoft"} {
		var got []string
		for _, v := range filterCatalog(cat, q) {
			got = append(got, v.ID)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("filter %q: %v, want %s", q, got, want)
		}
	}
	if len(filterCatalog(cat, "salesforce")) != 0 {
		t.Error("filter matched nonsense")
	}
	for _, v := range cat {
		for _, m := range v.Methods {
			if m.Name == "" || m.Summary == "" || len(m.Fields) == 0 {
				t.Errorf("%s/%s incomplete", v.ID, m.ID)
			}
		}
	}
}

func TestSanitizeAlias(t *testing.T) {
	for in, want := range map[string]string{
		"gitlab.example.com":    "gitlab.example.com",
		"host:8080/gitlab":      "host-8080-gitlab",
		"[::1]:80":              "1-80",
		"Ünïcode.Host/Sub/Path": "n-code.host-sub-path",
		"":                      "connection",
	} {
		if got := connector.SanitizeAlias(in); got != want {
			t.Errorf("connector.SanitizeAlias(%q) = %q, want %q", in, got, want)
		}
		if err := store.ValidAlias(connector.SanitizeAlias(in)); err != nil {
			t.Errorf("%q -> invalid alias: %v", in, err)
		}
	}
}

// resolverFunc adapts a function to httpx.Resolver.
type resolverFunc func(host string) []net.IPAddr

func (f resolverFunc) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return f(host), nil
}

// A *.localhost name that resolves off this machine is asked about like any
// other plain-http address.
func TestPlainHTTPToALocalhostNameResolvingElsewhere(t *testing.T) {
	saved := httpx.Resolver
	defer func() { httpx.Resolver = saved }()
	httpx.Resolver = resolverFunc(func(host string) []net.IPAddr {
		if host == "evil.localhost" {
			return []net.IPAddr{{IP: net.ParseIP("203.0.113.7")}}
		}
		return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}
	})
	c := newFlow(t, testStore(t))
	c.SetValue(FieldToken, "glpat-whatever-0123456789")
	c.SetValue(FieldURL, "http://evil.localhost:8080")
	if err := c.CheckFields(); err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("evil.localhost not questioned: %v", err)
	}
	c.SetValue(FieldURL, "http://dev.localhost:8080")
	if err := c.CheckFields(); err != nil {
		t.Fatalf("a name on this machine questioned: %v", err)
	}
}

// filterCatalog is the catalog's vendors matching filter, in order (the
// wizard's vendor list filters the same way, through Vendor.Matches).
func filterCatalog(c Catalog, filter string) Catalog {
	var out Catalog
	for _, v := range c {
		if strings.TrimSpace(filter) == "" || v.Matches(filter) {
			out = append(out, v)
		}
	}
	return out
}

// countingParses counts how often the vendor parses an address.
type countingParses struct {
	Connector
	n *int
}

func (c countingParses) ParseAddress(raw string) (Address, error) {
	*c.n++
	return c.Connector.ParseAddress(raw)
}

// A value is checked once: the wizard's commit, its submit and Authorize
// ask again, and the unchanged value is not checked again. The address is
// parsed at that check and nowhere else: verification takes it parsed.
func TestAFieldIsCheckedOnce(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	gl := *catalog.Default().Vendor("gitlab")
	m := &gl.Methods[0]
	checks := 0
	gl.Connector = countingParses{gl.Connector, &checks}
	c := NewConnect(Deps{Catalog: Catalog{&gl}, Store: testStore(t), Timeout: 5 * time.Second})
	if err := c.ChooseVendor("gitlab"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(m.ID); err != nil {
		t.Fatal(err)
	}
	checks = 0
	if err := c.SetValue(FieldURL, srv.BaseURL); err != nil { // the wizard's commit
		t.Fatal(err)
	}
	c.SetValue(FieldToken, gitlabtest.DemoTokens.Admin)
	c.SetValue(FieldURL, c.Values[FieldURL]) // the commit again, on submit
	if err := c.CheckFields(); err != nil {  // submit
		t.Fatal(err)
	}
	if _, err := c.Authorize(context.Background()); err != nil { // and Authorize
		t.Fatal(err)
	}
	if checks != 1 {
		t.Fatalf("the URL was checked %d times", checks)
	}
	c.SetValue(FieldURL, srv.BaseURL+"/") // changed: checked again
	if checks != 2 {
		t.Fatalf("a changed URL: %d checks", checks)
	}
}

// A reconnect fills every field of the card as last typed: settings beside
// secrets (a field the record has no column for included), not the token.
func TestReconnectRestoresEveryField(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	gl := *catalog.Default().Vendor("gitlab")
	gl.Methods = append([]AuthMethod(nil), gl.Methods...)
	m := &gl.Methods[0]
	m.Fields = append(append([]Field(nil), m.Fields...), Field{Key: "region", Label: "Region", Optional: true})
	st := testStore(t)
	c := NewConnect(Deps{Catalog: Catalog{&gl}, Store: st, Timeout: 5 * time.Second})
	c.ChooseVendor("gitlab")
	c.ChooseMethod(m.ID)
	c.SetValue(FieldURL, srv.BaseURL)
	c.SetValue(FieldToken, gitlabtest.DemoTokens.Admin)
	c.SetValue("region", "eu-west")
	if _, err := c.Authorize(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, err := c.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if saved.Settings["region"] != "eu-west" || saved.Settings[FieldToken] != "" || saved.Settings[FieldURL] != srv.BaseURL {
		t.Fatalf("settings kept: %d, region %q", len(saved.Settings), saved.Settings["region"])
	}
	stored, _ := st.Get(context.Background(), saved.ID)
	again := NewConnect(Deps{Catalog: Catalog{&gl}, Store: st, Timeout: 5 * time.Second})
	if err := again.Reconnect(stored); err != nil {
		t.Fatal(err)
	}
	if again.Values["region"] != "eu-west" || again.Values[FieldURL] != srv.BaseURL || again.Values[FieldToken] != "" {
		t.Fatalf("reconnect form: region %q, url %q, token given back: %v", again.Values["region"], again.Values[FieldURL], again.Values[FieldToken] != "")
	}
}
