// Package mstest is a sandbox Microsoft on 127.0.0.1 for the tests, the
// benchmarks and the demo: Entra ID's token endpoint (the client-credentials
// grant with a client secret or a certificate's signed assertion, checked
// against the certificates uploaded to the app), admin consent, and the
// Graph resources onramp reads (organization, users with @odata paging,
// subscribedSkus), answering and failing as Microsoft documents: AADSTS
// errors, OData error bodies, 429 with Retry-After.
package mstest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// The sandbox tenant.
const (
	TenantID = "8f3d2b61-5c4e-4a7b-9d10-2e6f0a1b3c4d"
	Domain   = "sandboxco.onmicrosoft.com"
	Name     = "Sandbox Co"
)

// Roles onramp asks for, and the one that covers the first two.
var Requested = []string{"AuditLog.Read.All", "Organization.Read.All", "User.Read.All"}

// Options shape a sandbox.
type Options struct {
	Users int // 250 by default
	// Premium: the tenant has Entra ID P1/P2, so Graph gives sign-ins.
	Premium bool
	// ThrottleEvery answers every Nth Graph request 429 (Retry-After:
	// RetryAfter seconds, 1 by default).
	ThrottleEvery int
	RetryAfter    int
	// TrustFirstCertificate registers the first certificate an app signs
	// with, as if it had been uploaded (the demo: nobody can upload there).
	TrustFirstCertificate bool
	// TLS serves https with the sandbox's own CA (Microsoft's libraries
	// require https); CAPEM is then its certificate.
	TLS bool
	// Hosts, with TLS, are names the sandbox's certificate also holds
	// (login.microsoftonline.com, graph.microsoft.com): reached through a
	// proxy, it answers as Microsoft's global cloud.
	Hosts []string
}

// App is an app registration in the sandbox tenant.
type App struct {
	ClientID string
	secrets  map[string]time.Time // value → end
	certs    []*x509.Certificate
	granted  []string
	// acceptNext: the next certificate the app signs with is taken as
	// uploaded (a test standing in for the person at Entra's upload page).
	acceptNext bool
}

// Server is a running sandbox.
type Server struct {
	*httptest.Server
	BaseURL string // login and Graph alike: the sandbox cloud's root
	CAPEM   []byte

	opts     Options
	mu       sync.Mutex
	apps     map[string]*App
	key      []byte // signs the access tokens it issues
	graph    int    // Graph requests served
	tokens   int    // tokens issued
	throttle int    // 429s sent
	users    []user
	skus     []sku
}

// Start runs a sandbox.
func Start(o Options) *Server {
	if o.Users == 0 {
		o.Users = 250
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 1
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{opts: o, apps: map[string]*App{}, key: key}
	s.skus = []sku{
		{ID: "6fd2c87f-b296-42f0-b197-1e91e994b900", Part: "ENTERPRISEPACK", Prepaid: o.Users},
		{ID: "06ebc4ee-1bb5-47dd-8120-11324bc54e06", Part: "SPE_E5", Prepaid: o.Users/10 + 5},
		{ID: "f30db892-07e9-47e9-837c-80727f46fd3d", Part: "FLOW_FREE", Prepaid: 10000},
	}
	s.users = seedUsers(o.Users, s.skus)
	for _, u := range s.users {
		for _, l := range u.licenses {
			for i := range s.skus {
				if s.skus[i].ID == l {
					s.skus[i].Consumed++
				}
			}
		}
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	switch {
	case o.TLS && len(o.Hosts) > 0:
		cfg, ca, err := tlsFor(o.Hosts)
		if err != nil {
			panic("mstest: " + err.Error())
		}
		s.Server.TLS = cfg
		s.Server.StartTLS()
		s.CAPEM = pemOf(ca)
	case o.TLS:
		s.Server.StartTLS()
		s.CAPEM = pemOf(s.Server.Certificate())
	default:
		s.Server.Start()
	}
	s.BaseURL = s.Server.URL
	return s
}

// The demo's app registration: its secret is printed beside the field it
// goes in (demo only); it has no consent until someone opens the consent
// address, and its first certificate is taken as uploaded.
const (
	DemoClientID      = "5a0d0a99-0000-4a99-8000-0000000de000"
	DemoSecret        = "sbx~demo-only-client-secret-0000"
	DemoExpiredSecret = "sbx~demo-only-expired-secret-000"
)

// AddDemoApp registers the demo's app.
func (s *Server) AddDemoApp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[DemoClientID] = &App{ClientID: DemoClientID, secrets: map[string]time.Time{
		DemoSecret: time.Now().AddDate(0, 6, 0), DemoExpiredSecret: time.Now().AddDate(0, 0, -3)}}
}

// NewApp registers an app with no credential and no consent.
func (s *Server) NewApp() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := guid(0xa99, len(s.apps)+1)
	s.apps[id] = &App{ClientID: id, secrets: map[string]time.Time{}}
	return id
}

// AddSecret adds a client secret to the app, ending at end; it returns
// the secret's value (Entra's Value column, shown once).
func (s *Server) AddSecret(clientID string, end time.Time) string {
	b := make([]byte, 24)
	rand.Read(b)
	v := "sbx~" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].secrets[v] = end
	return v
}

// UploadCertificate adds a certificate (PEM) to the app's credentials, as
// Certificates & secrets → Upload certificate does.
func (s *Server) UploadCertificate(clientID string, certPEM string) error {
	c, err := parsePEMCert(certPEM)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].certs = append(s.apps[clientID].certs, c)
	return nil
}

// AcceptNextCertificate takes the next certificate the app signs an
// assertion with (it carries it, x5c) as uploaded: what a person does
// with the certificate onramp shows, without a test reading the screen's
// clipboard.
func (s *Server) AcceptNextCertificate(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].acceptNext = true
}

// Grant gives the app application permissions, as an administrator's
// consent does.
func (s *Server) Grant(clientID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	for _, r := range roles {
		if !slices.Contains(a.granted, r) {
			a.granted = append(a.granted, r)
		}
	}
	slices.Sort(a.granted)
}

// Tokens counts the access tokens issued.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// Throttled counts the 429 answers Graph sent.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttle
}

// Users is the tenant's users, as Graph lists them.
func (s *Server) Users() []string {
	out := make([]string, len(s.users))
	for i, u := range s.users {
		out[i] = u.id
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1.0/"):
		s.serveGraph(w, r, strings.TrimPrefix(path, "/v1.0"))
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		s.serveToken(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/oauth2/v2.0/token"))
	case strings.HasSuffix(path, "/v2.0/.well-known/openid-configuration"):
		s.serveDiscovery(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/v2.0/.well-known/openid-configuration"))
	case strings.HasSuffix(path, "/adminconsent"):
		s.serveConsent(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/adminconsent"))
	default:
		odata(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+path+"'.")
	}
}

// knownTenant: the tenant's id or one of its domains.
func knownTenant(t string) bool {
	return strings.EqualFold(t, TenantID) || strings.EqualFold(t, Domain) || strings.EqualFold(t, "sandboxco.example")
}

// serveDiscovery is the tenant's OpenID configuration, which Microsoft's
// libraries read before asking for a token.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, tenant string) {
	if !knownTenant(tenant) {
		aad(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
		return
	}
	base := root(r) + "/" + TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                root(r) + "/" + TenantID + "/v2.0",
		"jwks_uri":                              root(r) + "/" + TenantID + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "sandbox",
		"msgraph_host":                          r.Host,
	})
}

// ConsentURL is the admin-consent address of an app, as onramp shows it.
func (s *Server) ConsentURL(clientID string) string {
	return s.BaseURL + "/" + TenantID + "/adminconsent?client_id=" + clientID
}

// serveConsent is the admin-consent page: opening it (as a Global
// Administrator would, and accepting) grants the app what onramp asks for.
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request, tenant string) {
	id := r.URL.Query().Get("client_id")
	s.mu.Lock()
	_, ok := s.apps[id]
	s.mu.Unlock()
	if !knownTenant(tenant) || !ok {
		http.Error(w, "AADSTS700016: Application with identifier '"+id+"' was not found in the directory.", http.StatusBadRequest)
		return
	}
	s.Grant(id, Requested...)
	if ru := r.URL.Query().Get("redirect_uri"); strings.HasPrefix(ru, "http://127.0.0.1") || strings.HasPrefix(ru, "http://localhost") {
		http.Redirect(w, r, ru+"?admin_consent=True&tenant="+TenantID, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Permissions granted</title><h1>Permissions granted</h1><p>%s may now read: %s.</p>", Name, strings.Join(Requested, ", "))
}

// serveToken is the client-credentials grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		aad(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	r.ParseForm()
	if !knownTenant(tenant) {
		aad(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		aad(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+g+"'.")
		return
	}
	if sc := r.PostForm.Get("scope"); !graphScope(root(r), sc) {
		aad(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+sc+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	id := r.PostForm.Get("client_id")
	s.mu.Lock()
	app, ok := s.apps[id]
	s.mu.Unlock()
	if !ok {
		aad(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+id+"' was not found in the directory '"+Name+"'.")
		return
	}
	endpoint := root(r) + r.URL.Path
	switch {
	case r.PostForm.Get("client_assertion") != "":
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			aad(w, http.StatusBadRequest, "invalid_request", 50027, "Invalid client assertion type.")
			return
		}
		if code, msg := s.checkAssertion(app, r.PostForm.Get("client_assertion"), endpoint); code != 0 {
			aad(w, http.StatusUnauthorized, "invalid_client", code, msg)
			return
		}
	case r.PostForm.Get("client_secret") != "":
		s.mu.Lock()
		end, ok := app.secrets[r.PostForm.Get("client_secret")]
		s.mu.Unlock()
		switch {
		case !ok:
			aad(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+id+"'.")
			return
		case time.Now().After(end):
			aad(w, http.StatusUnauthorized, "invalid_client", 7000222, "The provided client secret keys for app '"+id+"' are expired. Visit the Azure portal to create new keys for your app.")
			return
		}
	default:
		aad(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	s.mu.Lock()
	roles := slices.Clone(app.granted)
	s.tokens++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": s.issue(root(r), id, roles)})
}

// graphScope: the one resource scope is Graph's /.default (the OpenID
// scopes Microsoft's libraries add are ignored, as Entra ignores them in
// this grant).
func graphScope(root, scope string) bool {
	var resource []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access":
		default:
			resource = append(resource, sc)
		}
	}
	return len(resource) == 1 && (resource[0] == root+"/.default" || resource[0] == "https://graph.microsoft.com/.default")
}

// issue makes an access token: a JWT whose roles claim lists what was
// granted (HS256 with the sandbox's key: Graph here is the sandbox too).
func (s *Server) issue(root, clientID string, roles []string) string {
	head := b64(`{"typ":"JWT","alg":"HS256"}`)
	claims := map[string]any{"aud": root, "iss": root + "/" + TenantID + "/", "appid": clientID, "tid": TenantID,
		"exp": time.Now().Add(time.Hour).Unix(), "idtyp": "app"}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	body, _ := json.Marshal(claims)
	unsigned := head + "." + base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// bearer checks an access token the sandbox issued and returns its roles.
func (s *Server) bearer(r *http.Request) (roles []string, ok bool) {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, ".")
	if !found || len(parts) != 3 {
		return nil, false
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return nil, false
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Roles []string `json:"roles"`
		Exp   int64    `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil || time.Now().Unix() > c.Exp {
		return nil, false
	}
	return c.Roles, true
}

// root is the sandbox as the request addressed it: its own address, or a
// name it answers for (login.microsoftonline.com and graph.microsoft.com,
// reached through a proxy, with Options.Hosts).
func root(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// aad writes Entra's token-endpoint error body.
func aad(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, msg, guid(0x7ace, aadsts), guid(0xc0e, aadsts), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          guid(0x7ace, aadsts),
		"correlation_id":    guid(0xc0e, aadsts),
	})
}

// odata writes Graph's error body.
func odata(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": guid(0x4e9, status), "client-request-id": guid(0xc11, status)}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// guid is a stable GUID from a kind and a number.
func guid(kind, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x5a0d0000+kind, n&0xffff, kind&0xfff, (n>>16)&0xfff, n)
}

func hexOf(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
