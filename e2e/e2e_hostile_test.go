package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// hostileOutputs collects what the binary printed, to scan at the end.
type hostileOutputs struct {
	t    *testing.T
	h    *home
	seen strings.Builder
}

func (o *hostileOutputs) run(stdin string, args ...string) int {
	out, errOut, code := runCLI(o.t, o.h, stdin, args...)
	o.check(strings.Join(args, " "), out+errOut)
	return code
}

func (o *hostileOutputs) check(what, out string) {
	o.t.Helper()
	if at := gitlabtest.Unsafe(out); at != "" {
		o.t.Errorf("%s printed server text raw at %s", what, at)
	}
	o.seen.WriteString(out)
}

// TestE2EHostileServerReachesNoTerminal: a server that puts escape
// sequences, C1 controls, bidi overrides and forged log lines into every
// string it sends. Every command's output (text and JSON) and the debug log
// show them escaped, never raw.
func TestE2EHostileServerReachesNoTerminal(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{Users: 30, DeviceInterval: 1})
	h := newHome(t)
	debugLog := filepath.Join(h.dir, "http.log")
	h.env = append(h.env, "ONRAMP_DEBUG_HTTP="+debugLog)
	o := &hostileOutputs{t: t, h: h}

	// Names, states, plans, versions, messages: poisoned; the flow goes on.
	srv := sb.StartHostile(gitlabtest.Functional)
	defer srv.Close()
	if code := o.run(gitlabtest.DemoTokens.Admin, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "evil"); code != 0 {
		t.Fatalf("connect: exit %d\n%s", code, o.seen.String())
	}
	o.run("", "sync", "evil")
	for _, args := range [][]string{{"inventory", "evil"}, {"inventory", "evil", "--json"}, {"list"}, {"list", "--json"},
		{"show", "evil"}, {"show", "evil", "--json"}, {"status"}, {"status", "--json"}, {"sync", "evil", "--json"}} {
		o.run("", args...)
	}
	// Error answers: a revoked token, an OAuth client GitLab refuses.
	o.run(gitlabtest.DemoTokens.Revoked, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "evil2")
	o.run(gitlabtest.DemoTokens.Blocked, "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "evil3")
	o.run("", "connect", "gitlab", "--auth", "oauth", "--url", srv.BaseURL, "--client-id", "unknown-app", "--flow", "device", "--alias", "evil4")
	o.run("", "connect", "gitlab", "--auth", "oauth", "--url", srv.BaseURL, "--client-id", gitlabtest.DemoApp.UID, "--scopes", "sudo",
		"--flow", "device", "--alias", "evil5")

	// Everything poisoned, device fields included: the device address is
	// refused, the rest fails with the server's words escaped.
	all := sb.StartHostile(func(key string) bool { return key == "access_token" || key == "refresh_token" || key == "device_code" })
	defer all.Close()
	o.run(gitlabtest.DemoTokens.Admin, "connect", "gitlab", "--url", all.BaseURL, "--token-stdin", "--alias", "evil6")
	code := o.run("", "connect", "gitlab", "--auth", "oauth", "--url", all.BaseURL, "--client-id", gitlabtest.DemoApp.UID, "--flow", "device", "--alias", "evil7")
	if code == 0 || !strings.Contains(o.seen.String(), "will not show") {
		t.Errorf("a poisoned device address was not refused (exit %d)", code)
	}

	// A certificate whose names carry escape sequences.
	ca := hostileCertServer(t)
	o.run(gitlabtest.DemoTokens.Admin, "connect", "gitlab", "--url", ca.url, "--ca-file", ca.caFile, "--token-stdin", "--alias", "evil8")
	if !strings.Contains(o.seen.String(), `the certificate is for EVIL\x1b]52`) {
		t.Errorf("the certificate's names were not shown escaped:\n%s", o.seen.String())
	}

	logged, _ := os.ReadFile(debugLog)
	o.check("the debug log", string(logged))
	if strings.Count(o.seen.String(), "EVIL") < 20 {
		t.Fatalf("the payload hardly reached any output (%d times): the test exercises nothing", strings.Count(o.seen.String(), "EVIL"))
	}
}

// TestE2EHostileDeviceAddressRefusedInCLI: only the device address and
// code are forged (the rest of the answer is sound): the attempt is refused
// and says why, with the forged text escaped.
func TestE2EHostileDeviceAddressRefusedInCLI(t *testing.T) {
	sb := gitlabtest.New(gitlabtest.Options{DeviceInterval: 1})
	srv := sb.StartHostile(func(key string) bool { return key != "verification_uri_complete" && key != "user_code" })
	defer srv.Close()
	h := newHome(t)
	cmd := exec.Command(binary, "connect", "gitlab", "--auth", "oauth", "--url", srv.BaseURL, "--client-id", gitlabtest.DemoApp.UID,
		"--flow", "device", "--alias", "dev")
	cmd.Env = h.env
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("connect succeeded with a forged device address")
	}
	if at := gitlabtest.Unsafe(all.String()); at != "" || !strings.Contains(all.String(), "will not show") {
		t.Fatalf("device refusal: %s\n%s", at, all.String())
	}
}

type certServer struct{ url, caFile string }

// hostileCertServer serves TLS with a self-signed certificate (given to
// onramp as the CA) whose DNS names are escape sequences, not 127.0.0.1.
func hostileCertServer(t *testing.T) certServer {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"EVIL\x1b]52;c;RVZJTA==\x07", "EVIL\x1b[2J\x1b[H.example"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		ErrorLog: nil}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })
	return certServer{url: "https://" + l.Addr().String(), caFile: caFile}
}
