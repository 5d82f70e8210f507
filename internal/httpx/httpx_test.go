package httpx

import (
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRefusesCrossHostRedirectAndKeepsSecrets(t *testing.T) {
	leaked := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked <- r.Header.Get("Private-Token")
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		if r.URL.Path == "/final" {
			io.WriteString(w, r.Header.Get("User-Agent"))
			return
		}
		http.Redirect(w, r, other.URL+"/steal?private_token=abc", http.StatusTemporaryRedirect)
	}))
	defer origin.Close()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", origin.URL+"/api", nil)
	req.Header.Set("Private-Token", "glpat-secret")
	_, err = c.Do(req)
	var re *RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("cross-host redirect followed: %v", err)
	}
	if strings.Contains(re.Error(), "abc") {
		t.Fatalf("secret query value in error: %v", err)
	}
	select {
	case tok := <-leaked:
		t.Fatalf("other host received a request (token %q)", tok)
	default:
	}
	resp, err := c.Get(origin.URL + "/same")
	if err != nil {
		t.Fatalf("same-host redirect refused: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "onramp/") {
		t.Fatalf("user agent %q", body)
	}
}

func TestCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	plain, _ := New(Options{})
	if _, err := plain.Get(srv.URL); err == nil {
		t.Fatal("unknown CA accepted")
	}
	withCA, err := New(Options{CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withCA.Get(srv.URL); err != nil {
		t.Fatalf("with CA: %v", err)
	}
	if _, err := New(Options{CABundle: []byte("not pem")}); err == nil {
		t.Fatal("garbage CA bundle accepted")
	}
}

func TestDebugLogRedacts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var log strings.Builder
	c, _ := New(Options{Debug: &log})
	req, _ := http.NewRequest("GET", srv.URL+"/oauth/authorize?client_id=app&code=s3cr3tcode&state=s3cr3tstate&access_token=s3cr3ttok", nil)
	req.Header.Set("Private-Token", "glpat-s3cr3t")
	req.Header.Set("Authorization", "Bearer s3cr3tbearer")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := log.String()
	if strings.Contains(out, "s3cr3t") || !strings.Contains(out, "client_id=app") || !strings.Contains(out, "-> 200") {
		t.Fatalf("debug line: %s", out)
	}
}
