package flows

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/pgtest"
	"github.com/onramp-dev/onramp/store"
)

// BenchmarkRotation measures one whole rotation on loopback (mark, request,
// commit) and, as lost_window_ms, the part in which a crash loses the
// successor: from the vendor's answer to the commit of it.
func BenchmarkRotation(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkRotation(b, newRotEnv(b, gitlabtest.Options{})) })
	b.Run("postgres", func(b *testing.B) {
		e := newRotEnv(b, gitlabtest.Options{})
		st, err := store.Open(context.Background(), store.Options{Path: pgtest.Database(b), ConfigDir: filepath.Join(b.TempDir(), "cfg")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		e.st, e.s.Store = st, st
		benchmarkRotation(b, e)
	})
}

func benchmarkRotation(b *testing.B, e *rotEnv) {
	exp := time.Now().AddDate(0, 0, 90)
	token := e.srv.Sandbox.AddToken(gitlabtest.RootID, "onramp", []string{"api"}, &exp)
	hc, _ := httpx.New(httpx.Options{})
	v, err := e.s.Catalog.Vendor("gitlab").Connector.Verify(context.Background(), connector.VerifyRequest{
		Method: store.AuthToken, Address: gitlabAddress(b, e.srv.BaseURL), Values: map[string]string{FieldToken: token}, HTTP: hc, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	c := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: v.BaseURL, AuthMethod: store.AuthToken, ExpiresAt: v.ExpiresAt, Rotation: v.Rotation}
	c.SetSecret(store.SecretToken, store.Secret(token))
	if err := e.st.Create(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	rot := e.s.rotator(c)
	var window time.Duration
	b.ResetTimer()
	for range b.N {
		cur, _ := e.st.Get(context.Background(), c.ID)
		now := time.Now()
		if _, err := e.st.Update(context.Background(), c.ID, func(c *store.Connection) error { c.Rotation.RequestedAt = &now; return nil }); err != nil {
			b.Fatal(err)
		}
		got, err := rot.rotate(context.Background(), hc, cur, time.Now().AddDate(0, 0, 90))
		if err != nil {
			b.Fatal(err)
		}
		answered := time.Now()
		if _, err := e.s.commitRotation(context.Background(), c.ID, cur.Secret(store.SecretToken), got); err != nil {
			b.Fatal(err)
		}
		window += time.Since(answered)
	}
	b.ReportMetric(float64(window.Microseconds())/1000/float64(b.N), "lost_window_ms")
	if e.srv.Sandbox.FamilyRevocations() != 0 {
		b.Fatal("a family was revoked")
	}
}
