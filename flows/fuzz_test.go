package flows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/github/githubtest"
)

// The sync's page handling, end to end: whatever a server answers for its
// pages (bodies, Link headers), the sync ends with a run succeeded or an
// error, never a panic, within its limits.
func FuzzSyncPage(f *testing.F) {
	f.Add([]byte(`[{"login":"octo","id":1,"type":"User"}]`), "")
	f.Add([]byte(`[{"login":"a","id":2}]`), `<{{self}}>; rel="next"`)
	f.Add([]byte(`[{"login":"\u0000\u001b]52;c;aGk=\u0007","id":3}]`), `<http://127.0.0.1:1/x>; rel="next"`)
	f.Add([]byte(`{"message":"Not Found"}`), `<>; rel="next"`)
	f.Add([]byte{0xff, 0x00}, "\x00")
	var mu sync.Mutex
	var body []byte
	var link string
	e, srv := newGitHubEnv(f, githubtest.Options{Members: 5, Hostile: githubtest.Hostile{MembersAnswer: func() ([]byte, string) {
		mu.Lock()
		defer mu.Unlock()
		return body, link
	}}}, githubtest.DemoTokens.Classic)
	e.s.Limits = Limits{Pages: 20}
	self := srv.BaseURL + "/api/v3/orgs/sandbox-co/members?per_page=100&role=admin"
	f.Fuzz(func(t *testing.T, b []byte, l string) {
		mu.Lock()
		body, link = b, headerValue(replaceSelf(l, self))
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		run, err := e.s.Sync(ctx, e.id, nil)
		if err == nil && (run == nil || run.Users < 0) {
			t.Fatalf("run %+v", run)
		}
	})
}

// headerValue keeps printable ASCII, what a header surely carries (Go's server drops an
// answer whose header holds control bytes, and the client then retries).
func headerValue(l string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return -1
		}
		return r
	}, l)
}

// replaceSelf lets a seed's Link name the page itself.
func replaceSelf(l, self string) string { return strings.ReplaceAll(l, "{{self}}", self) }
