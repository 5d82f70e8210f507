package httpx

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"
)

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
	saved := Resolver
	defer func() { Resolver = saved }()
	Resolver = fakeResolver{
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

// A request without an answer is named in a few words.
func TestUnanswered(t *testing.T) {
	hc, err := New(Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = hc.Get("http://" + addr)
	if reason, redirected := Unanswered(err); redirected || reason.Error() != "connection refused" {
		t.Fatalf("refused: %v %v", reason, redirected)
	}
	dns := &url.Error{Op: "Get", URL: "http://gitlab.invalid", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "gitlab.invalid", IsNotFound: true}}}
	if reason, _ := Unanswered(dns); reason.Error() != "no such host" {
		t.Fatalf("dns: %v", reason)
	}
}
