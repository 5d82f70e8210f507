package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/onramp-dev/onramp/cli"
	"github.com/onramp-dev/onramp/microsoft/mstest"
)

// Issue 26: Microsoft 365, a vendor of another shape, through the real
// binary. The binary's own catalog knows only Microsoft's clouds, so the
// sandbox answers as login.microsoftonline.com and graph.microsoft.com: its
// certificate is signed by a CA the binary trusts through SSL_CERT_FILE,
// and an HTTPS_PROXY on loopback takes every connection to it. Nothing in
// onramp knows it is a test.

// microsoftCloud starts a sandbox Microsoft behind a proxy on loopback and
// points h's environment at it.
func microsoftCloud(t *testing.T, h *home, o mstest.Options) *mstest.Server {
	t.Helper()
	o.TLS, o.Hosts = true, []string{"login.microsoftonline.com", "graph.microsoft.com"}
	srv := mstest.Start(o)
	t.Cleanup(srv.Close)
	ca := filepath.Join(h.dir, "sandbox-ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(connectProxy(srv.Listener.Addr().String()))
	t.Cleanup(proxy.Close)
	h.env = append(h.env, "SSL_CERT_FILE="+ca, "HTTPS_PROXY="+proxy.URL, "NO_PROXY=")
	return srv
}

// connectProxy tunnels every CONNECT to the sandbox, whatever host it names.
func connectProxy(sandbox string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", sandbox)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { defer up.Close(); buf.WriteTo(up); io.Copy(up, conn) }()
		go func() { defer conn.Close(); io.Copy(conn, up) }()
	})
}

// The command line with a certificate: onramp makes it and writes it out,
// waits while it is uploaded and while an administrator grants consent
// (one permission, then the rest), stores the connection; the sync, throttled
// by Graph and SIGKILLed mid-run, is taken over by a worker and ends with
// every user once, with their licenses, in --json that matches the schema.
func TestE2EMicrosoftCertificateCommandLine(t *testing.T) {
	h := newHome(t)
	srv := microsoftCloud(t, h, mstest.Options{Users: 4200, Premium: true, ThrottleEvery: 9})
	app := srv.NewApp()
	certFile := filepath.Join(h.dir, "onramp.pem")
	cmd := exec.Command(binary, "connect", "microsoft", "--tenant", mstest.Domain, "--client-id", app, "--auth", "certificate",
		"--certificate-out", certFile, "--wait", "2m", "--alias", "m365")
	cmd.Env = h.env
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(commandTimeout, func() { cmd.Process.Kill() })
	defer guard.Stop()
	waitPrinted(t, &errb, "Upload it to the app")
	pem, err := os.ReadFile(certFile)
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") || strings.Contains(string(pem), "PRIVATE") {
		t.Fatalf("certificate file: %v\n%s", err, pem)
	}
	if !strings.Contains(errb.String(), "thumbprint ") {
		t.Fatalf("no thumbprint said: %s", errb.String())
	}
	if err := srv.UploadCertificate(app, string(pem)); err != nil {
		t.Fatal(err)
	}
	waitPrinted(t, &errb, "/adminconsent?client_id="+app, "User.Read.All")
	srv.Grant(app, "User.Read.All")
	waitPrinted(t, &errb, "lacks the application permission Organization.Read.All")
	srv.Grant(app, mstest.Requested...)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("connect: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "Connected Microsoft 365 as m365") || !strings.Contains(out.String(), mstest.Name) {
		t.Fatalf("connect printed:\n%s\n%s", out.String(), errb.String())
	}
	st := h.open(t)
	conn, err := st.Find(t.Context(), "microsoft", "m365")
	if err != nil || !strings.Contains(string(conn.Secret("certificate")), "PRIVATE KEY") {
		t.Fatalf("stored: %v", err)
	}
	st.Close()

	// A sync killed a page in; a worker takes it over.
	sync := exec.Command(binary, "sync", "m365", "--json")
	sync.Env = h.env
	stdout, _ := sync.StdoutPipe()
	if err := sync.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(60*time.Second, func() { sync.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var p struct{ Pages int }
		if json.Unmarshal(sc.Bytes(), &p) == nil && p.Pages >= 1 {
			break
		}
	}
	sync.Process.Signal(syscall.SIGKILL)
	sync.Wait()
	kill.Stop()
	w := startWorker(t, h, "--rescue-after", "8s", "--slice", "6s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker:\n%s", w.log.String())
		}
	})
	s := waitStatus(t, h, "m365", "the taken-over sync finished", synced(4200))
	if s.LastRun.Retries == 0 || srv.Throttled() == 0 {
		t.Fatalf("throttling was not met: %d retries, %d throttled", s.LastRun.Retries, srv.Throttled())
	}
	inv, e, code := runCLI(t, h, "", "inventory", "m365", "--json")
	if code != 0 {
		t.Fatalf("inventory: %d %s", code, e)
	}
	validateSchema(t, inv, "inventory")
	var got struct {
		Users []struct {
			ID       string
			Licenses []string
		}
		Seats []struct {
			Scope string
			Seats int
			Used  int
		}
	}
	if err := json.Unmarshal([]byte(inv), &got); err != nil {
		t.Fatal(err)
	}
	seen, licensed := map[string]bool{}, 0
	for _, u := range got.Users {
		if seen[u.ID] {
			t.Fatalf("%s twice", u.ID)
		}
		seen[u.ID] = true
		if len(u.Licenses) > 0 {
			licensed++
		}
	}
	for _, id := range srv.Users() {
		if !seen[id] {
			t.Fatalf("%s missing", id)
		}
	}
	if len(got.Users) != 4200 || licensed == 0 || len(got.Seats) != 3 || got.Seats[0].Scope != "ENTERPRISEPACK" || got.Seats[0].Seats != 4200 {
		t.Fatalf("%d users, %d licensed, seats %+v", len(got.Users), licensed, got.Seats)
	}
}

// The client secret: an expired one is refused naming what to do, a good
// one with its end date connects, and status counts the days to it.
func TestE2EMicrosoftSecretCommandLine(t *testing.T) {
	h := newHome(t)
	srv := microsoftCloud(t, h, mstest.Options{Users: 50})
	app := srv.NewApp()
	srv.Grant(app, mstest.Requested...)
	expired := srv.AddSecret(app, time.Now().Add(-time.Hour))
	_, e, code := runCLI(t, h, expired+"\n", "connect", "microsoft", "--tenant", mstest.TenantID, "--client-id", app, "--auth", "client_secret", "--client-secret-stdin", "--wait", "0")
	if code == 0 || !strings.Contains(e, "the client secret has expired") || !strings.Contains(e, "Add a new client secret") || strings.Contains(e, expired) {
		t.Fatalf("expired: %d %s", code, e)
	}
	good := srv.AddSecret(app, time.Now().AddDate(0, 0, 10))
	end := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	out, e, code := runCLI(t, h, good+"\n", "connect", "microsoft", "--tenant", mstest.TenantID, "--client-id", app, "--auth", "client_secret",
		"--client-secret-stdin", "--secret-expires", end, "--json")
	var res cli.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Connection.Vendor != "microsoft" || strings.Contains(out+e, good) {
		t.Fatalf("connect: %d %s %s", code, out, e)
	}
	if !strings.Contains(out, `"expiry"`) {
		t.Fatalf("a secret ending in 10 days gave no warning: %s", out)
	}
	s := statusOf(t, h, res.Connection.Alias)
	if s.Connection.ExpiresAt == nil || s.Connection.ExpiresAt.Format("2006-01-02") != end {
		t.Fatalf("status: %+v", s)
	}
}

// The wizard, through Microsoft's global cloud: the certificate shown with
// its thumbprint before the fields; refused until it is uploaded (r tries
// again); the consent step waiting by itself with its address and QR code
// until an administrator grants it; SUCCESS; then the Integrations page
// with the sync done under throttling.
func TestE2EMicrosoftWizardCertificate(t *testing.T) {
	h := newHome(t)
	srv := microsoftCloud(t, h, mstest.Options{Users: 1800, Premium: true, ThrottleEvery: 3})
	app := srv.NewApp()
	tm := startTmux(t, h, 110, 70, binary)
	tm.waitFor("Which app do you want to connect?", "Microsoft 365")
	tm.typeText("entra")
	tm.waitFor("Microsoft 365  Certificate (Recommended) · Client secret")
	tm.keys("Enter")
	tm.waitFor("How should onramp sign in to Microsoft 365?", "Certificate (Recommended)")
	tm.keys("Enter")
	tm.waitFor("register an app in Microsoft Entra", "New registration", "Upload certificate", "Certificate to register", "thumbprint ")
	tm.keys("Enter")
	tm.waitFor("› Cloud")
	tm.keys("Enter")
	tm.waitFor("› Directory (tenant) ID")
	tm.typeText(mstest.Domain)
	tm.keys("Enter")
	tm.waitFor("› Application (client) ID")
	tm.typeText("not-a-guid")
	tm.keys("Enter")
	tm.waitFor("is a GUID like")
	tm.keys("C-u")
	tm.typeText(app)
	tm.keys("Enter")
	tm.waitFor("did not accept onramp's certificate", "Press r to try again")
	srv.AcceptNextCertificate(app) // the person uploads the certificate shown
	tm.keys("r")
	screen := tm.waitFor("Waiting", "lacks the application permissions", "User.Read.All, Organization.Read.All", "/adminconsent?client_id=", "ctrl+y")
	if !strings.Contains(unwrapped(screen), "https://login.microsoftonline.com/"+mstest.Domain+"/adminconsent?client_id="+app) {
		t.Fatalf("consent address:\n%s", screen)
	}
	if !strings.Contains(screen, "▀") && !strings.Contains(screen, "▄") {
		t.Fatalf("no QR code beside the consent address:\n%s", screen)
	}
	srv.Grant(app, mstest.Requested...) // an administrator grants consent; the page looks again by itself
	tm.waitFor("SUCCESS!", "Microsoft 365 is connected", mstest.Name)
	tm.keys("Enter")
	tm.waitFor("Integrations", "✓ 1800 users", "Seats (ENTERPRISEPACK, enabled): 1543 used of 1800")
	if srv.Throttled() == 0 {
		t.Fatal("the sync was never throttled")
	}
	tm.keys("q")
	tm.waitFor("EXITED=0")
}

// The wizard with a client secret in the demo: the sandbox's app and
// secrets beside the fields; an expired secret refused on its field with
// what to do, then a wrong one, each fixed in place; the consent address
// opened (by the test, as a browser would).
func TestE2EMicrosoftInTheDemo(t *testing.T) {
	h := newHome(t)
	tm := startTmux(t, h, 110, 70, binary+" demo --latency 2ms --users 400")
	tm.waitFor("Which app do you want to connect?", "Microsoft 365")
	tm.typeText("microsoft")
	tm.keys("Enter")
	tm.waitFor("How should onramp sign in to Microsoft 365?")
	tm.keys("Down", "Enter")
	tm.waitFor("Client secrets", "New client secret")
	tm.keys("Enter")
	tm.waitFor("› Cloud")
	tm.keys("Enter")
	tm.typeText(mstest.Domain)
	tm.keys("Enter")
	tm.waitFor("Sandbox app (demo only)")
	tm.typeText(mstest.DemoClientID)
	tm.keys("Enter")
	tm.waitFor("› Client secret value", "expired: "+mstest.DemoExpiredSecret)
	tm.paste(mstest.DemoExpiredSecret)
	tm.keys("Enter")
	tm.waitFor("› Secret expires")
	tm.keys("Enter")
	tm.waitFor("client secret has expired", "Add a new client secret")
	tm.keys("C-u")
	tm.paste("sbx~wrong")
	tm.keys("Enter", "Down", "Enter")
	tm.waitFor("did not accept the client secret", "the Value column")
	tm.keys("C-u")
	tm.paste(mstest.DemoSecret)
	tm.keys("Enter", "Down", "Enter")
	screen := tm.waitFor("Waiting", "/adminconsent?client_id=")
	consent := regexp.MustCompile(`http://127\.0\.0\.1:\d+/[^\s]+/adminconsent\?client_id=[0-9a-f-]+`).FindString(unwrapped(screen))
	if consent == "" {
		t.Fatalf("no consent address on screen:\n%s", screen)
	}
	resp, err := http.Get(consent)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("consent: %v %v", resp, err)
	}
	resp.Body.Close()
	tm.waitFor("SUCCESS!", "Microsoft 365 is connected")
	tm.keys("Enter")
	tm.waitFor("Integrations", "200 users")
	tm.keys("q")
	tm.waitFor("EXITED=0")
}

// unwrapped joins the lines a long address was wrapped over.
func unwrapped(screen string) string { return regexp.MustCompile(`\n +`).ReplaceAllString(screen, "") }

// waitPrinted waits until a command has printed every one of want.
func waitPrinted(t *testing.T, b *syncBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s, ok := b.String(), true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("never printed %q:\n%s", want, b.String())
}

// validateSchema checks out against one shape of docs/onramp.schema.json.
func validateSchema(t *testing.T, out, thing string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	path, _ := filepath.Abs("../docs/onramp.schema.json")
	s, err := c.Compile(path + "#/$defs/" + thing)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("--json does not match the %s schema: %v", thing, err)
	}
}
