package gitlab

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/internal/httpx"
)

func TestNormalizeURL(t *testing.T) {
	cases := []struct {
		in       string
		want     string
		insecure bool
		err      string
	}{
		{"https://gitlab.com", "https://gitlab.com", false, ""},
		{"gitlab.example.com", "https://gitlab.example.com", false, ""},
		{"  gitlab.example.com/  ", "https://gitlab.example.com", false, ""},
		{"https://gitlab.example.com/api/v4", "https://gitlab.example.com", false, ""},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com", false, ""},
		{"https://Host.Example.COM/gitlab/", "https://host.example.com/gitlab", false, ""},
		{"https://host/gitlab/api/v4", "https://host/gitlab", false, ""},
		{"https://host:443/x", "https://host/x", false, ""},
		{"https://host:8443", "https://host:8443", false, ""},
		{"gitlab.internal:8443/sub", "https://gitlab.internal:8443/sub", false, ""},
		{"HTTPS://gitlab.com", "https://gitlab.com", false, ""},
		{"http://gitlab.example.com", "http://gitlab.example.com", true, ""},
		{"http://gitlab.example.com:80/", "http://gitlab.example.com", true, ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", false, ""},
		{"http://localhost:3000/gl", "http://localhost:3000/gl", true, ""}, // a name: OnThisMachine decides
		{"http://[::1]:8080", "http://[::1]:8080", false, ""},
		{"localhost:8080", "https://localhost:8080", false, ""},
		{"", "", false, "enter the address"},
		{"   ", "", false, "enter the address"},
		{"ftp://gitlab.example.com", "", false, "ftp address"},
		{"mailto:admin@example.com", "", false, "not a web address"},
		{"javascript:alert(1)", "", false, "not a web address"},
		{"https://user:pw@gitlab.example.com", "", false, "user:password@"},
		{"https://gitlab.example.com/?tab=1", "", false, "?…"},
		{"https://gitlab.example.com/#x", "", false, "?…"},
		{"https://", "", false, "no host"},
		{"https://exa mple.com", "", false, "spaces"},
		{"https://gitlab.example.com/api/v4/api/v4", "https://gitlab.example.com", false, ""},
	}
	for _, c := range cases {
		got, err := NormalizeURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("NormalizeURL(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got.URL != c.want || got.Insecure != c.insecure {
			t.Errorf("NormalizeURL(%q) = %+v, %v; want %q insecure=%v", c.in, got, err, c.want, c.insecure)
		}
	}
}

func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"gitlab.com", "https://h/gitlab/api/v4/", "http://[::1]:80", "a:b", "https://x:99999", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := NormalizeURL(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(b.URL, "https://") && !strings.HasPrefix(b.URL, "http://") {
			t.Fatalf("%q -> %q: not http(s)", s, b.URL)
		}
		u, _ := url.Parse(b.URL)
		if p := u.EscapedPath(); strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/api/v4") {
			t.Fatalf("%q -> %q: trailing / or /api/v4", s, b.URL)
		}
		again, err := NormalizeURL(b.URL)
		if err != nil || again != b {
			t.Fatalf("not idempotent: %q -> %+v -> %+v, %v", s, b, again, err)
		}
	})
}

// fakeResolver answers from a table.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	for _, a := range f[host] {
		out = append(out, net.IPAddr{IP: net.ParseIP(a)})
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// Plain http skips the question only for what resolves to this machine:
// a *.localhost name that resolves elsewhere is asked about.
func TestOnThisMachineDecidesOnAddresses(t *testing.T) {
	saved := httpx.Resolver
	defer func() { httpx.Resolver = saved }()
	httpx.Resolver = fakeResolver{
		"localhost":       {"127.0.0.1", "::1"},
		"dev.localhost":   {"127.0.0.1"},
		"evil.localhost":  {"203.0.113.7"},
		"mixed.localhost": {"127.0.0.1", "198.51.100.2"},
		"gitlab.lan":      {"127.0.1.1"},
	}
	for host, want := range map[string]bool{"localhost": true, "dev.localhost": true, "evil.localhost": false,
		"mixed.localhost": false, "gitlab.lan": true, "missing.localhost": false, "127.0.0.1": true, "[::1]": true, "10.0.0.1": false} {
		if got := OnThisMachine(host); got != want {
			t.Errorf("OnThisMachine(%s) = %v, want %v", host, got, want)
		}
	}
}
