package sshserver

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/internal/httpx"
)

func TestPolicy(t *testing.T) {
	open := Policy{}
	listed := Policy{Allow: []string{"*.example.com", "127.0.0.1"}}
	cases := []struct {
		p     Policy
		host  string
		ip    string
		allow bool
	}{
		{open, "gitlab.example.com", "203.0.113.7", true},
		{open, "gitlab.internal", "10.0.0.5", true}, // self-managed GitLabs live on private networks
		{open, "metadata.google.internal", "169.254.169.254", false},
		{open, "evil.example", "169.254.10.1", false},
		{open, "evil.example", "fe80::1", false},
		{open, "localhost", "127.0.0.1", false}, // loopback only when named
		{open, "evil.example", "0.0.0.0", false},
		{listed, "gitlab.example.com", "203.0.113.7", true},
		{listed, "gitlab.other.org", "203.0.113.8", false},
		{listed, "127.0.0.1", "127.0.0.1", true},
		{listed, "sub.example.com", "169.254.169.254", false}, // metadata even when listed
	}
	for _, c := range cases {
		err := c.p.Check(c.host, net.ParseIP(c.ip))
		if (err == nil) != c.allow {
			t.Errorf("%v %s (%s): %v", c.p.Allow, c.host, c.ip, err)
		}
	}
}

func TestGuardedClientRefusesAfterResolution(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c, _ := httpx.New(httpx.Options{Guard: Policy{}.Check})
	// "localhost" resolves to loopback, which this policy does not name.
	_, err := c.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	var blocked *httpx.BlockedError
	if !errors.As(err, &blocked) || !strings.Contains(blocked.Error(), "loopback") {
		t.Fatalf("loopback reached: %v", err)
	}
	allowed, _ := httpx.New(httpx.Options{Guard: Policy{Allow: []string{"localhost"}}.Check})
	if _, err := allowed.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)); err != nil {
		t.Fatalf("named loopback refused: %v", err)
	}
}
