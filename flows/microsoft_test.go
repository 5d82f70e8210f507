package flows

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/microsoft"
	"github.com/onramp-dev/onramp/microsoft/mstest"
	"github.com/onramp-dev/onramp/store"
)

// A vendor of another shape goes through the same flow: a cloud chosen, an
// app-only method, a certificate onramp makes and shows, consent that an
// administrator grants while the flow waits, the sync with the app's own
// sign-in, a reconnect that keeps the key pair.
func TestMicrosoftCertificateThroughTheFlow(t *testing.T) {
	srv := mstest.Start(mstest.Options{Users: 1500, Premium: true})
	defer srv.Close()
	app := srv.NewApp()
	st, _ := openSyncStore(t)
	cat := Catalog{microsoft.Card(microsoft.CardOptions{Sandbox: srv.BaseURL})}
	c := NewConnect(Deps{Catalog: cat, Store: st, Timeout: 10 * time.Second})
	if err := c.ChooseVendor("microsoft"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChooseMethod(microsoft.AuthCertificate); err != nil {
		t.Fatal(err)
	}
	cert := c.Copy()
	if cert == nil || cert.Short == "" || !strings.Contains(cert.Value, "BEGIN CERTIFICATE") || strings.Contains(cert.Value, "PRIVATE") {
		t.Fatalf("certificate shown: %+v", cert)
	}
	for _, f := range c.VisibleFields() {
		if f.Key == microsoft.FieldCertificate {
			t.Fatal("the key pair is a field to type")
		}
	}
	for k, v := range map[string]string{microsoft.FieldTenant: mstest.Domain, FieldClientID: app} {
		if err := c.SetValue(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CheckFields(); err != nil {
		t.Fatal(err)
	}
	// Not uploaded yet: the certificate field is named.
	_, err := c.Authorize(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Field != microsoft.FieldCertificate {
		t.Fatalf("before upload: %v", err)
	}
	if err := srv.UploadCertificate(app, cert.Value); err != nil {
		t.Fatal(err)
	}
	// Uploaded, not consented: pending at the tenant's consent address.
	_, err = c.Authorize(context.Background())
	var p Pending
	if !errors.As(err, &p) || p.PendingAt() != srv.ConsentURL(app) && !strings.Contains(p.PendingAt(), "/adminconsent?client_id="+app) {
		t.Fatalf("before consent: %v", err)
	}
	resp, err := http.Get(p.PendingAt())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v, err := c.Authorize(context.Background())
	if err != nil || v.Account.Name != mstest.Name {
		t.Fatalf("after consent: %v %+v", err, v)
	}
	conn, err := c.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if conn.Alias != "sandboxco" || conn.BaseURL != srv.BaseURL || conn.Settings[microsoft.FieldTenant] != mstest.Domain || conn.Secret(microsoft.FieldCertificate) == "" {
		t.Fatalf("stored %+v", conn)
	}

	s := &Syncer{Store: st, Catalog: cat}
	run, err := s.Sync(context.Background(), conn.ID, nil)
	if err != nil || run.Users != 1500 {
		t.Fatalf("sync: %v %+v", err, run)
	}
	var licensed int
	st.Users(context.Background(), run.ID, func(u store.InventoryUser) error {
		if slices.Contains(u.Licenses, "ENTERPRISEPACK") {
			licensed++
		}
		return nil
	})
	seats, _ := st.Seats(context.Background(), run.ID)
	if licensed == 0 || len(seats) != 3 {
		t.Fatalf("%d licensed, seats %+v", licensed, seats)
	}

	// A reconnect keeps the key pair: nothing to retype, the same
	// certificate, and it authorizes as it is.
	r := NewConnect(Deps{Catalog: cat, Store: st, Timeout: 10 * time.Second})
	stored, _ := st.Get(context.Background(), conn.ID)
	if err := r.Reconnect(stored); err != nil {
		t.Fatal(err)
	}
	if r.Retype() != "" || r.Copy().Value != cert.Value {
		t.Fatalf("reconnect asks for %q, certificate kept %v", r.Retype(), r.Copy().Value == cert.Value)
	}
	if _, err := r.Authorize(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The secret method: the secret is what a reconnect asks for again.
func TestMicrosoftSecretReconnectAsksForTheSecret(t *testing.T) {
	srv := mstest.Start(mstest.Options{Users: 20})
	defer srv.Close()
	app := srv.NewApp()
	srv.Grant(app, mstest.Requested...)
	secret := srv.AddSecret(app, time.Now().AddDate(0, 3, 0))
	st, _ := openSyncStore(t)
	cat := Catalog{microsoft.Card(microsoft.CardOptions{Sandbox: srv.BaseURL})}
	c := NewConnect(Deps{Catalog: cat, Store: st, Timeout: 10 * time.Second})
	c.ChooseVendor("microsoft")
	if err := c.ChooseMethod(microsoft.AuthSecret); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{microsoft.FieldTenant: mstest.TenantID, FieldClientID: app, FieldClientSecret: secret,
		microsoft.FieldSecretExpires: time.Now().AddDate(0, 3, 0).Format("1/2/2006")} {
		if err := c.SetValue(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Authorize(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Save(context.Background())
	if err != nil || conn.ExpiresAt == nil || conn.Settings[microsoft.FieldSecretExpires] == "" {
		t.Fatalf("%v %+v", err, conn)
	}
	r := NewConnect(Deps{Catalog: cat, Store: st, Timeout: 10 * time.Second})
	if err := r.Reconnect(conn); err != nil {
		t.Fatal(err)
	}
	if r.Retype() != FieldClientSecret || r.Values[microsoft.FieldTenant] != mstest.TenantID || r.Values[FieldClientID] != app {
		t.Fatalf("reconnect asks for %q with %v", r.Retype(), r.Values)
	}
}

// A generated secret is started when the vendor is chosen, off the
// caller's goroutine (an RSA key pair takes a tenth of a second), and made
// once: choosing the method again keeps it.
func TestGeneratedSecretStartsWithTheVendor(t *testing.T) {
	card := microsoft.Card(microsoft.CardOptions{})
	m := card.Method(microsoft.AuthCertificate)
	var calls atomic.Int32
	started := make(chan struct{}, 4)
	for i := range m.Fields {
		if gen := m.Fields[i].Generate; gen != nil {
			m.Fields[i].Generate = func(now time.Time) (string, error) {
				calls.Add(1)
				started <- struct{}{}
				return gen(now)
			}
		}
	}
	c := NewConnect(Deps{Catalog: Catalog{card}})
	if err := c.ChooseVendor("microsoft"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started: // before any method was chosen
	case <-time.After(10 * time.Second):
		t.Fatal("choosing the vendor did not start the key pair")
	}
	if err := c.ChooseMethod(microsoft.AuthCertificate); err != nil {
		t.Fatal(err)
	}
	first := c.Values[microsoft.FieldCertificate]
	c.ChooseMethod(microsoft.AuthSecret)
	c.ChooseVendor("microsoft")
	if err := c.ChooseMethod(microsoft.AuthCertificate); err != nil || c.Values[microsoft.FieldCertificate] != first || calls.Load() != 1 {
		t.Fatalf("made %d times; kept: %v", calls.Load(), c.Values[microsoft.FieldCertificate] == first)
	}
	if first, again := c.Copy(), c.Copy(); first != again {
		t.Fatal("the certificate's public part is parsed again on every frame")
	}
}
