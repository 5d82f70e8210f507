package github

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/connector"
)

// Whatever a server sends as a page of members, a Link header, rate-limit
// headers or an SSO header is decoded or refused, never a panic.
func FuzzMembersPage(f *testing.F) {
	f.Add([]byte(`[{"login":"octo","id":1,"type":"User"}]`), `<https://api.github.com/orgs/x/members?page=2>; rel="next"`, "60", "sso; url=https://github.com/orgs/x/sso")
	f.Add([]byte(`[{"login":"\u0000\u001b[31m\u009b\u202e","id":-9}]`), `<>; rel="next", <x>; rel="next"`, "99999999999999999999", "required; url=")
	f.Add([]byte(`{"message":"Bad credentials"}`), `;;;`, "-1", "url=javascript:alert(1)")
	f.Add([]byte{0xff, '[', 0x00}, "\x00", "1e9", "\x00")
	base := connector.Address{URL: "https://github.example.com", API: "https://github.example.com/api/v3"}
	f.Fuzz(func(t *testing.T, body []byte, link, retryAfter, sso string) {
		p := &Page{raw: body, role: "member"}
		if err := p.Decode(); err == nil {
			for _, u := range p.Users {
				for _, r := range u.Username {
					if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x202e {
						t.Fatalf("raw control %U in %q", r, u.Username)
					}
				}
			}
		}
		linkNext(link)
		h := map[string][]string{"Retry-After": {retryAfter}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {retryAfter}}
		if wait, _ := rateLimitWait(h, 429, time.Now()); wait < 0 {
			t.Fatalf("negative wait %s for %q", wait, retryAfter)
		}
		OnWeb(base, sso)
		var cp checkpoint
		json.Unmarshal(body, &cp)
	})
}
