package gitlab_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/gitlab"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/internal/httpx"
)

func client(t *testing.T, base, token string, ca []byte) *gitlab.Client {
	t.Helper()
	hc, err := httpx.New(httpx.Options{CABundle: ca, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := gitlab.NormalizeURL(base)
	if err != nil {
		t.Fatal(err)
	}
	return &gitlab.Client{HTTP: hc, Base: b, Token: token}
}

func verify(t *testing.T, base, token string, ca []byte) (*gitlab.Verification, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return gitlab.Verify(ctx, client(t, base, token, ca), time.Now())
}

func TestVerifyAdminToken(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true}).Start()
	defer srv.Close()
	v, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Account.Username != "root" || !v.Account.Admin || v.Version != "17.6.1-ee" || v.Edition != "EE" ||
		v.TokenName != "onramp" || v.ExpiresAt == nil || v.DaysLeft < 364 || len(v.Warnings) != 0 {
		t.Fatalf("verification: %+v", v)
	}
	if v.AdminViewSeen == nil || !*v.AdminViewSeen {
		t.Fatal("admin view not seen")
	}
	if v.ExpiresAt.Hour() != 0 || v.ExpiresAt.Location() != time.UTC {
		t.Fatalf("expiry must be midnight UTC: %v", v.ExpiresAt)
	}
}

func warningCodes(v *gitlab.Verification) string {
	var codes []string
	for _, w := range v.Warnings {
		codes = append(codes, w.Code)
	}
	return strings.Join(codes, ",")
}

func TestVerifyWarnings(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{AdminMode: true})
	srv := sb.Start()
	defer srv.Close()
	cases := map[string]struct{ token, want string }{
		"non-admin":                {gitlabtest.DemoTokens.NonAdmin, "not_admin"},
		"expiring soon":            {gitlabtest.DemoTokens.ExpiringSoon, "expiry"},
		"read_user only":           {sb.AddToken(gitlabtest.RootID, "ru", []string{"read_user"}, nil), "scope"},
		"admin without admin_mode": {sb.AddToken(gitlabtest.RootID, "nomode", []string{"read_api"}, nil), "admin_mode"},
	}
	for name, c := range cases {
		v, err := verify(t, srv.BaseURL, c.token, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := warningCodes(v); got != c.want {
			t.Errorf("%s: warnings %q, want %q", name, got, c.want)
		}
		for _, w := range v.Warnings {
			if w.Message == "" || w.Action == "" {
				t.Errorf("%s: warning without message or action: %+v", name, w)
			}
		}
	}
	v, _ := verify(t, srv.BaseURL, gitlabtest.DemoTokens.ExpiringSoon, nil)
	if !strings.Contains(v.Warnings[0].Message, "in 6 days") {
		t.Errorf("expiry message: %s", v.Warnings[0].Message)
	}
}

func TestVerifyFailures(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	cases := []struct {
		name  string
		token string
		kind  gitlab.Kind
		field string
	}{
		{"unknown", "glpat-nonsense-0000000000000000", gitlab.KindInvalidToken, connector.FieldToken},
		{"expired", gitlabtest.DemoTokens.Expired, gitlab.KindExpiredToken, connector.FieldToken},
		{"revoked", gitlabtest.DemoTokens.Revoked, gitlab.KindRevokedToken, connector.FieldToken},
		{"scope", gitlabtest.DemoTokens.FewScopes, gitlab.KindInsufficientScope, connector.FieldToken},
		{"blocked", gitlabtest.DemoTokens.Blocked, gitlab.KindBlockedUser, connector.FieldToken},
	}
	msgs := map[string]bool{}
	for _, c := range cases {
		_, err := verify(t, srv.BaseURL, c.token, nil)
		var ge *gitlab.Error
		if !errors.As(err, &ge) || ge.Kind != c.kind || ge.Field() != c.field || ge.Hint() == "" {
			t.Fatalf("%s: %#v", c.name, err)
		}
		if msgs[err.Error()] {
			t.Errorf("%s: message not distinct: %s", c.name, err)
		}
		msgs[err.Error()] = true
		if strings.Contains(err.Error(), c.token) {
			t.Errorf("%s: token in error", c.name)
		}
	}
}

func kindOf(err error) gitlab.Kind {
	var ge *gitlab.Error
	if errors.As(err, &ge) {
		return ge.Kind
	}
	return -1
}

func TestVerifyNetworkFailures(t *testing.T) {
	// Connection refused: a port nothing listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + l.Addr().String()
	l.Close()
	if _, err := verify(t, refused, "x", nil); kindOf(err) != gitlab.KindRefused {
		t.Errorf("refused: %v", err)
	}
	// DNS: .invalid never resolves (RFC 2606), and the lookup stays local.
	if _, err := verify(t, "https://gitlab.onramp-test.invalid", "x", nil); kindOf(err) != gitlab.KindDNS {
		t.Errorf("dns: %v", err)
	}
	// Not GitLab: a web server without X-Gitlab-Meta.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>hello</html>"))
	}))
	defer plain.Close()
	if _, err := verify(t, plain.URL, "x", nil); kindOf(err) != gitlab.KindNotGitLab {
		t.Errorf("not gitlab: %v", err)
	}
	// The sandbox under a sub-path, addressed without it: not GitLab either.
	sub := gitlabtest.New(gitlabtest.Options{Prefix: "/gitlab"}).Start()
	defer sub.Close()
	if _, err := verify(t, sub.URL, gitlabtest.DemoTokens.Admin, nil); kindOf(err) != gitlab.KindNotGitLab {
		t.Errorf("missing sub-path: %v", err)
	}
	if _, err := verify(t, sub.BaseURL+"/api/v4/", gitlabtest.DemoTokens.Admin, nil); err != nil {
		t.Errorf("sub-path: %v", err)
	}
	// Redirect to another host: refused before the token travels.
	got := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Private-Token")
	}))
	defer other.Close()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer redir.Close()
	if _, err := verify(t, redir.URL, "glpat-secret-0123456789abcdef", nil); kindOf(err) != gitlab.KindRedirect {
		t.Errorf("redirect: %v", err)
	}
	select {
	case <-got:
		t.Error("token sent to the other host")
	default:
	}
	// Timeout: a server slower than the client's limit.
	slow := gitlabtest.New(gitlabtest.Options{Latency: 3 * time.Second}).Start()
	defer slow.Close()
	hc, _ := httpx.New(httpx.Options{Timeout: 200 * time.Millisecond})
	b, _ := gitlab.NormalizeURL(slow.BaseURL)
	_, err := gitlab.Verify(context.Background(), &gitlab.Client{HTTP: hc, Base: b, Token: "x"}, time.Now())
	var ge *gitlab.Error
	if kindOf(err) != gitlab.KindTimeout || !errors.As(err, &ge) || !ge.Retryable() {
		t.Errorf("timeout: %v", err)
	}
}

func TestVerifyPrivateCA(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).StartTLS()
	defer srv.Close()
	_, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil)
	var ge *gitlab.Error
	if !errors.As(err, &ge) || ge.Kind != gitlab.KindUnknownAuthority || ge.Field() != connector.FieldCAFile {
		t.Fatalf("unknown CA: %v", err)
	}
	if _, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, srv.CAPEM); err != nil {
		t.Fatalf("with CA: %v", err)
	}
	// TLS spoken to a plain-HTTP port.
	plain := gitlabtest.New(gitlabtest.Options{}).Start()
	defer plain.Close()
	if _, err := verify(t, strings.Replace(plain.BaseURL, "http://", "https://", 1), "x", nil); kindOf(err) != gitlab.KindTLS {
		t.Errorf("tls to http port: %v", err)
	}
}

func TestVerifyLegacyServer(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Legacy: true, Version: "15.0.5-ee"}).Start()
	defer srv.Close()
	v, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "15.0.5-ee" || v.Edition != "EE" || v.ScopesKnown {
		t.Fatalf("legacy: %+v", v)
	}
	ce := gitlabtest.New(gitlabtest.Options{CE: true}).Start()
	defer ce.Close()
	if v, _ := verify(t, ce.BaseURL, gitlabtest.DemoTokens.Admin, nil); v.Edition != "CE" {
		t.Fatalf("CE edition: %q", v.Edition)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{})
	srv := sb.Start()
	defer srv.Close()
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/metadata", Status: 502})
	_, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil)
	var ge *gitlab.Error
	if !errors.As(err, &ge) || ge.Kind != gitlab.KindServer || !ge.Retryable() || ge.Field() != "" {
		t.Fatalf("502: %v", err)
	}
	sb.InjectFault(gitlabtest.Fault{PathPrefix: "/metadata", Status: 429, RetryAfter: 7})
	if _, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil); kindOf(err) != gitlab.KindRateLimited {
		t.Fatalf("429: %v", err)
	}
	if _, err := verify(t, srv.BaseURL, gitlabtest.DemoTokens.Admin, nil); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

func TestServerTextIsSanitized(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{})
	srv := sb.Start()
	defer srv.Close()
	tok := sb.AddToken(gitlabtest.RootID, "evil\x1b]52;c;cGF3bmVk\x07name", []string{"read_api", "read_user\x1b[2J"}, nil)
	v, err := verify(t, srv.BaseURL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append([]string{v.TokenName}, v.Scopes...) {
		if strings.ContainsRune(s, 0x1b) {
			t.Fatalf("escape sequence from the server kept: %q", s)
		}
	}
}

func TestVerifyBlockedByServerPolicy(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	hc, _ := httpx.New(httpx.Options{Guard: func(host string, ip net.IP) error {
		return &httpx.BlockedError{Host: host, IP: ip, Reason: "this server's own loopback"}
	}})
	b, _ := gitlab.NormalizeURL(srv.BaseURL)
	_, err := gitlab.Verify(context.Background(), &gitlab.Client{HTTP: hc, Base: b, Token: "x"}, time.Now())
	var ge *gitlab.Error
	if !errors.As(err, &ge) || ge.Kind != gitlab.KindBlocked || ge.Field() != connector.FieldURL || !strings.Contains(ge.Error(), "not reachable from this server") {
		t.Fatalf("blocked: %v", err)
	}
}
