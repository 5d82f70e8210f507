package sshserver

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// A full line does not keep the listener's Close waiting, and a
// connection's login time counts its wait.
func TestAdmissionLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := newAdmission(8, 1, 0, 300*time.Millisecond)
	al := a.listener(l)
	c1, _ := net.Dial("tcp", l.Addr().String())
	defer c1.Close()
	first, err := al.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if reason := first.(*admittedConn).wait(); reason != "" {
		t.Fatalf("the first connection waited: %s", reason)
	}
	accepted := make(chan error, 1)
	go func() { _, err := al.Accept(); accepted <- err }() // the line is full
	time.Sleep(100 * time.Millisecond)
	al.Close()
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close left Accept waiting on a full line")
	}
	// A second admission: its one slot taken, the next waits out its login
	// time and is told why.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	b := newAdmission(8, 1, 4, 300*time.Millisecond)
	bl := b.listener(l2)
	defer bl.Close()
	for range 2 {
		c, _ := net.Dial("tcp", l2.Addr().String())
		defer c.Close()
	}
	x, _ := bl.Accept()
	y, _ := bl.Accept()
	x.(*admittedConn).wait()
	began := time.Now()
	if reason := y.(*admittedConn).wait(); reason != "login_timeout" || time.Since(began) > time.Second {
		t.Fatalf("the waiting connection: %q after %v", reason, time.Since(began))
	}
	x.(*admittedConn).authenticate()
}
