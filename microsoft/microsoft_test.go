package microsoft

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/microsoft/mstest"
	"github.com/onramp-dev/onramp/model"
)

// sandboxConnector is the connector with the sandbox as its only cloud.
func sandboxConnector(srv *mstest.Server) msConnector {
	return msConnector{clouds: clouds{sandboxCloud(srv.BaseURL)}}
}

type fixture struct {
	srv  *mstest.Server
	m    msConnector
	at   connector.Address
	app  string
	cert *Certificate
}

// newFixture starts a sandbox with an app whose certificate is uploaded
// and, when grant, consented to.
func newFixture(t *testing.T, o mstest.Options, grant bool) *fixture {
	t.Helper()
	srv := mstest.Start(o)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, m: sandboxConnector(srv), app: srv.NewApp()}
	var err error
	if f.at, err = f.m.ParseAddress("sandbox"); err != nil {
		t.Fatal(err)
	}
	if f.cert, err = NewCertificate("onramp", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := srv.UploadCertificate(f.app, f.cert.PEM()); err != nil {
		t.Fatal(err)
	}
	if grant {
		srv.Grant(f.app, mstest.Requested...)
	}
	return f
}

func (f *fixture) values(extra map[string]string) map[string]string {
	v := map[string]string{FieldTenant: mstest.TenantID, connector.FieldClientID: f.app, FieldCertificate: f.cert.Sealed()}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func (f *fixture) verify(method string, values map[string]string) (*connector.Verification, error) {
	return f.m.Verify(context.Background(), connector.VerifyRequest{Method: method, Address: f.at, Values: values, HTTP: http.DefaultClient, Now: time.Now()})
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

// The certificate onramp makes signs the app in (RFC 7523 assertion, checked
// by the sandbox against the uploaded certificate); verification says the
// tenant, its domains, what was granted and when the certificate ends.
func TestCertificateSignsIn(t *testing.T) {
	f := newFixture(t, mstest.Options{Premium: true}, true)
	v, err := f.verify(AuthCertificate, f.values(nil))
	if err != nil {
		t.Fatal(err)
	}
	if v.Account.Name != mstest.Name || string(v.Account.ID) != mstest.TenantID || v.Account.Username != mstest.Domain {
		t.Fatalf("account %+v", v.Account)
	}
	if !slices.Equal(v.Scopes, mstest.Requested) || v.ExpiresAt == nil || v.ExpiresAt.Before(time.Now().AddDate(1, 11, 0)) {
		t.Fatalf("scopes %v, expires %v", v.Scopes, v.ExpiresAt)
	}
	for _, w := range v.Warnings {
		if w.Code == "sign_ins" {
			t.Fatalf("sign-ins granted, yet %q", w.Message)
		}
	}
	if v.BaseURL != f.srv.BaseURL {
		t.Fatalf("stored address %q", v.BaseURL)
	}
	lines := map[string]string{}
	for _, it := range v.Summary() {
		lines[it.Label] = it.Value
	}
	if lines["Account"] != "the tenant "+mstest.Name+", as its app registration" || lines["Domains"] != "sandboxco.example, "+mstest.Domain ||
		lines["Tenant"] != mstest.TenantID || !strings.Contains(lines["Expires"], "UTC") {
		t.Fatalf("summary %v", lines)
	}
	sv, err := f.verify(AuthSecret, f.values(map[string]string{connector.FieldClientSecret: f.srv.AddSecret(f.app, time.Now().AddDate(1, 0, 0))}))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sv.Summary() {
		if it.Label == "Expires" && !strings.Contains(it.Value, "give the secret's end date") {
			t.Fatalf("a secret without its date: Expires %q", it.Value)
		}
	}
}

// A stored pair reads back; the thumbprint is SHA-1 in upper-case hex, as
// Entra lists it.
func TestSealedCertificateRoundTrips(t *testing.T) {
	c, err := NewCertificate("onramp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSealed(c.Sealed())
	if err != nil || !back.Key.Equal(c.Key) || !back.Cert.Equal(c.Cert) {
		t.Fatalf("round trip: %v", err)
	}
	if tp := c.Thumbprint(); len(tp) != 40 || strings.ToUpper(tp) != tp {
		t.Fatalf("thumbprint %q", tp)
	}
	if strings.Contains(c.PEM(), "PRIVATE") {
		t.Fatal("the certificate to upload holds the private key")
	}
	other, _ := NewCertificate("other", time.Now())
	if _, err := ParseSealed(strings.Replace(c.Sealed(), c.PEM(), other.PEM(), 1)); err == nil {
		t.Fatal("a key with another's certificate was accepted")
	}
}

// Before consent the token has no roles: verification names what is
// missing and says where to grant it; a partial grant names the rest; the
// admin-consent address grants everything.
func TestConsentPendingThenGranted(t *testing.T) {
	f := newFixture(t, mstest.Options{}, false)
	_, err := f.verify(AuthCertificate, f.values(nil))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConsent || !slices.Equal(e.Missing, []string{PermUsers, PermOrg}) ||
		!strings.Contains(e.Hint(), "Grant admin consent") || !e.Retryable() {
		t.Fatalf("before consent: %v", err)
	}
	f.srv.Grant(f.app, PermUsers)
	if _, err := f.verify(AuthCertificate, f.values(nil)); !errors.As(err, &e) || !slices.Equal(e.Missing, []string{PermOrg}) ||
		!strings.Contains(err.Error(), "permission Organization.Read.All") {
		t.Fatalf("partly granted: %v", err)
	}
	resp, err := http.Get(ConsentURL(f.srv.BaseURL, mstest.TenantID, f.app, ""))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %v %v", resp, err)
	}
	resp.Body.Close()
	v, err := f.verify(AuthCertificate, f.values(nil))
	if err != nil || !slices.Contains(v.Scopes, PermSignIns) {
		t.Fatalf("after consent: %v %+v", err, v)
	}
}

// Each refusal of the token endpoint is named by its AADSTS code, with the
// field to fix.
func TestSignInRefusals(t *testing.T) {
	f := newFixture(t, mstest.Options{}, true)
	stranger, _ := NewCertificate("not uploaded", time.Now())
	good := f.srv.AddSecret(f.app, time.Now().AddDate(0, 6, 0))
	expired := f.srv.AddSecret(f.app, time.Now().Add(-time.Hour))
	for _, c := range []struct {
		name   string
		method string
		values map[string]string
		kind   Kind
		field  string
		code   string
	}{
		{"wrong certificate", AuthCertificate, f.values(map[string]string{FieldCertificate: stranger.Sealed()}), KindCertificate, FieldCertificate, connector.CodeCredentialInvalid},
		{"wrong secret", AuthSecret, f.values(map[string]string{connector.FieldClientSecret: "nope"}), KindSecret, connector.FieldClientSecret, connector.CodeCredentialInvalid},
		{"expired secret", AuthSecret, f.values(map[string]string{connector.FieldClientSecret: expired}), KindSecretExpired, connector.FieldClientSecret, connector.CodeCredentialExpired},
		{"unknown tenant", AuthCertificate, f.values(map[string]string{FieldTenant: "elsewhere.onmicrosoft.com"}), KindTenant, FieldTenant, connector.CodeCredentialInvalid},
		{"unknown app", AuthCertificate, f.values(map[string]string{connector.FieldClientID: "00000000-0000-0000-0000-000000000000"}), KindApplication, connector.FieldClientID, connector.CodeCredentialInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.verify(c.method, c.values)
			var e *Error
			if !errors.As(err, &e) || e.Kind != c.kind || e.Field() != c.field || e.Code() != c.code || e.Hint() == "" || !e.CredentialRejected() {
				t.Fatalf("%v (kind %v)", err, kindOf(err))
			}
			if strings.Contains(err.Error(), "Trace ID") || strings.Contains(err.Error(), good) {
				t.Fatalf("the message carries Entra's trace or a secret: %v", err)
			}
		})
	}
	v, err := f.verify(AuthSecret, f.values(map[string]string{connector.FieldClientSecret: good, FieldSecretExpires: time.Now().AddDate(0, 0, 10).Format("2006-01-02")}))
	if err != nil || v.ExpiresAt == nil || !slices.ContainsFunc(v.Warnings, func(w connector.Warning) bool { return w.Code == "expiry" }) {
		t.Fatalf("a secret ending in 10 days: %v %+v", err, v)
	}
}

// readAll syncs the whole inventory the way the flow does: page after page
// from the checkpoint each gives.
func readAll(t *testing.T, src connector.SyncSource) (users []model.InventoryUser, note string, pages int) {
	t.Helper()
	ctx := context.Background()
	checkpoint := ""
	for {
		p, err := src.Page(ctx, checkpoint)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		if err := p.Load(p); err != nil {
			t.Fatal(err)
		}
		users, note, pages = append(users, p.Users...), p.Note, pages+1
		if p.Next == "" {
			return users, note, pages
		}
		checkpoint = p.Next
	}
}

func (f *fixture) source(method string) connector.SyncSource {
	conn := &model.Connection{Vendor: "microsoft", AuthMethod: method, ClientID: f.app, BaseURL: f.at.URL,
		Settings: map[string]string{FieldTenant: mstest.TenantID}}
	conn.SetSecret(FieldCertificate, model.Secret(f.cert.Sealed()))
	return f.m.Source(f.at, conn, http.DefaultClient, connector.Credential{})
}

// The inventory: every user once, in 999-user pages, with their licenses
// by name, guests and disabled accounts said, sign-ins where the tenant has
// them; the seats are the subscriptions' units bought and assigned.
func TestInventoryWithLicensesAndSeats(t *testing.T) {
	f := newFixture(t, mstest.Options{Users: 2100, Premium: true}, true)
	users, note, pages := readAll(t, f.source(AuthCertificate))
	if len(users) != 2100 || pages != 3 || note != "" {
		t.Fatalf("%d users in %d pages, note %q", len(users), pages, note)
	}
	seen := map[model.ID]bool{}
	for _, u := range users {
		if seen[u.ID] {
			t.Fatalf("%s twice", u.ID)
		}
		seen[u.ID] = true
	}
	first, e5 := users[0], users[10]
	if first.Username != "admin@"+mstest.Domain || !slices.Equal(e5.Licenses, []string{"ENTERPRISEPACK", "SPE_E5"}) || !*e5.Seat ||
		first.LastSignInAt == "" || users[6].Seat == nil || *users[6].Seat || users[16].State != "disabled" || users[22].State != "guest" {
		t.Fatalf("users: %+v %+v %+v %+v", first, e5, users[6], users[22])
	}
	seats, _, err := f.source(AuthCertificate).Seats(context.Background())
	if err != nil || len(seats) != 3 || seats[0].Scope != "ENTERPRISEPACK" || seats[0].Plan != "enabled" || *seats[0].Seats != 2100 || *seats[0].Used != 1800 {
		t.Fatalf("seats %+v %v", seats, err)
	}
}

// Without Entra ID P1/P2 Graph refuses sign-ins: the same list comes
// without them, and the snapshot says why — to its last page.
func TestInventoryWithoutPremiumSaysSo(t *testing.T) {
	f := newFixture(t, mstest.Options{Users: 1200}, true)
	users, note, pages := readAll(t, f.source(AuthCertificate))
	if len(users) != 1200 || pages != 2 || !strings.Contains(note, "P1 or P2") || users[0].LastSignInAt != "" {
		t.Fatalf("%d users, %d pages, note %q", len(users), pages, note)
	}
}

// Throttled every third request, the sync waits out short Retry-Afters
// and misses nobody; a long one comes back for the queue to snooze.
func TestThrottlingIsWaitedOut(t *testing.T) {
	f := newFixture(t, mstest.Options{Users: 2500, Premium: true, ThrottleEvery: 3}, true)
	src := f.source(AuthCertificate)
	users, _, _ := readAll(t, src)
	if len(users) != 2500 || src.Retries() == 0 || f.srv.Throttled() == 0 {
		t.Fatalf("%d users, %d retries, %d throttled", len(users), src.Retries(), f.srv.Throttled())
	}
	slow := newFixture(t, mstest.Options{Users: 10, ThrottleEvery: 1, RetryAfter: 30}, true)
	_, err := slow.source(AuthCertificate).Page(context.Background(), "")
	var th connector.Throttled
	if !errors.As(err, &th) || th.RetryAfter() != 30*time.Second {
		t.Fatalf("a 30 s Retry-After: %v", err)
	}
}

// A next link that leaves Graph is refused, not followed with the token.
func TestNextLinkAwayIsRefused(t *testing.T) {
	f := newFixture(t, mstest.Options{Users: 10}, true)
	_, err := f.source(AuthCertificate).Page(context.Background(), "https://evil.example/v1.0/users?$skiptoken=x")
	var m connector.Misconfigured
	if !errors.As(err, &m) || !m.Misconfigured() {
		t.Fatalf("%v", err)
	}
}

// Clouds are chosen, never typed: the ids and names read, a stored Graph
// root reads back to its cloud, anything else is refused with the list.
func TestClouds(t *testing.T) {
	m := msConnector{clouds: Clouds}
	for in, want := range map[string]string{"global": "https://graph.microsoft.com", " USGov ": "https://graph.microsoft.us",
		"usgov-dod": "https://dod-graph.microsoft.us", "china": "https://microsoftgraph.chinacloudapi.cn",
		"https://graph.microsoft.com/": "https://graph.microsoft.com"} {
		at, err := m.ParseAddress(in)
		if err != nil || at.URL != want || at.API != want+"/v1.0" {
			t.Errorf("%q: %+v %v", in, at, err)
		}
	}
	if _, err := m.ParseAddress("https://graph.evil.example"); err == nil || !strings.Contains(err.Error(), "global, usgov") {
		t.Errorf("a free-form address: %v", err)
	}
}
