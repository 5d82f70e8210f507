package gitlab

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalizeURL(t *testing.T) {
	cases := []struct {
		in    string
		want  string
		plain bool
		err   string
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
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true, ""},
		{"http://localhost:3000/gl", "http://localhost:3000/gl", true, ""},
		{"http://[::1]:8080", "http://[::1]:8080", true, ""},
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
		if err != nil || got.URL != c.want || got.API != c.want+"/api/v4" || got.Plain() != c.plain {
			t.Errorf("NormalizeURL(%q) = %+v, %v; want %q plain=%v", c.in, got, err, c.want, c.plain)
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
