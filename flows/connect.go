package flows

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/internal/httpx"
	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// Deps are what a Connect flow needs from outside.
type Deps struct {
	Catalog Catalog
	Store   store.Store
	// NewHTTP builds the HTTP client for a connection; httpx.New by default.
	NewHTTP func(httpx.Options) (*http.Client, error)
	Now     func() time.Time
	// Timeout bounds one verification; 30 s by default.
	Timeout time.Duration
	// Remote: a browser opened here would be on the wrong machine (SSH).
	Remote bool
	// NoTunnel: the person reaches this process through a server that does
	// not forward ports (`onramp serve`), so no `ssh -L` line is offered.
	NoTunnel bool
	// OpenBrowser opens an address in the system browser (pkg/browser).
	OpenBrowser func(url string) error
	// OAuthTimeout bounds one authorization; 10 minutes by default.
	OAuthTimeout time.Duration
	// Actor is recorded as who creates or changes connections (an SSH key
	// fingerprint when serving); the OS user when empty.
	Actor string
}

// Connect is one onboarding, from vendor card to stored connection. It holds
// everything typed so far, so going back or failing loses nothing.
type Connect struct {
	deps   Deps
	Vendor *Vendor
	Method *AuthMethod
	// Values are the normalized field values, secrets included.
	Values map[string]string
	// Confirmed holds the fields whose Confirm question was answered yes.
	Confirmed map[string]bool
	// Revealed holds the on-demand fields a failure asked for.
	Revealed map[string]bool
	// checked holds each value that passed SetValue, so it is checked once
	// however often the wizard, CheckFields and Authorize ask.
	checked map[string]string
	// address is the instance's address as the vendor parsed it from the
	// method's Address field: what every vendor call takes.
	address Address
	// making holds the secrets being generated for the vendor's methods
	// (an RSA key pair takes ~0.1 s): started when the vendor is chosen,
	// off the wizard's goroutine, taken when a method needs one.
	making   map[string]*generation
	public   *Copyable // the last generated value's public part, and
	publicOf string    // the value it is of (drawn on every frame)
	CABundle []byte
	// WantAlias is set when the person asked to name the connection.
	WantAlias bool
	Alias     string
	Result    *Verification
	Saved     *store.Connection
	// oauthToken is the OAuth token FinishOAuth verified, saved by Save.
	oauthToken *oauth2.Token
	// Reconnecting is the stored connection being re-authorized: Save
	// updates it in place, keeping its id, alias and inventory. Its vendor
	// never changes; its auth method only after ConfirmMethodSwitch.
	Reconnecting *store.Connection
	// switchTo is the auth method the person agreed to switch a reconnected
	// connection to.
	switchTo string
	// aliasShown: the alias step was part of this run, so going back from
	// authorize returns to it.
	aliasShown bool
}

// Reconnect prepares re-authorizing a stored connection: vendor, method and
// every field come from it, so the person only authorizes again.
func (c *Connect) Reconnect(conn *store.Connection) error {
	if err := c.ChooseVendor(conn.Vendor); err != nil {
		return err
	}
	if err := c.ChooseMethod(conn.AuthMethod); err != nil {
		return err
	}
	// Connections made before settings were kept: what the record says.
	if f := addressField(c.Method); f != nil {
		c.Values[f.Key] = conn.BaseURL
		if strings.HasPrefix(conn.BaseURL, "http://") {
			c.Confirm(f.Key) // confirmed when it was first connected
		}
	}
	if c.Method.Kind == MethodOAuth {
		c.Values[FieldClientID] = conn.ClientID
		c.Values[FieldScopes] = strings.Join(conn.Scopes, " ")
	}
	// Every field as last typed: settings beside secrets. The credential
	// itself (a token, an app's secret) is what the reconnect replaces, so
	// it starts empty; an OAuth application's secret and a key pair onramp
	// made are kept.
	for _, f := range c.Method.Fields {
		switch {
		case f.Secret && (f.Generate != nil || (c.Method.Kind == MethodOAuth && f.Key == FieldClientSecret)):
			c.Values[f.Key] = conn.Secret(f.Key).Reveal()
		case !f.Secret && !f.OnDemand && conn.Settings[f.Key] != "":
			c.Values[f.Key] = conn.Settings[f.Key]
		}
	}
	if conn.CABundle != "" {
		c.CABundle = []byte(conn.CABundle)
	}
	c.Alias, c.Reconnecting = conn.Alias, conn
	return nil
}

// NewConnect starts an onboarding.
func NewConnect(d Deps) *Connect {
	if d.NewHTTP == nil {
		d.NewHTTP = httpx.New
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	return &Connect{deps: d, Values: map[string]string{}, Confirmed: map[string]bool{}, Revealed: map[string]bool{}, checked: map[string]string{}}
}

// UseStore gives the flow its store when it opened after the flow began (the
// wizard opens the store off the UI goroutine); nothing chosen is lost.
func (c *Connect) UseStore(st store.Store) { c.deps.Store = st }

// Catalog is the vendors to choose from.
func (c *Connect) Catalog() Catalog { return c.deps.Catalog }

// ChooseVendor picks the vendor card. A reconnect keeps its vendor.
func (c *Connect) ChooseVendor(id string) error {
	v := c.deps.Catalog.Vendor(id)
	if v == nil {
		return fmt.Errorf("no vendor %q in the catalog", id)
	}
	if c.Reconnecting != nil && id != c.Reconnecting.Vendor {
		return fmt.Errorf("a reconnect keeps %s's vendor; add a new connection for %s instead", c.Reconnecting.Alias, v.Name)
	}
	if c.Vendor != v {
		c.Vendor, c.Method, c.Result = v, nil, nil
	}
	c.prepare()
	return nil
}

// generation is one secret being generated.
type generation struct {
	done  chan struct{}
	value string
	err   error
}

// prepare starts generating what the vendor's methods generate, so that
// choosing the method finds it made (or nearly).
func (c *Connect) prepare() {
	for _, m := range c.Vendor.Methods {
		for _, f := range m.Fields {
			if f.Generate == nil || c.making[f.Key] != nil {
				continue
			}
			if c.making == nil {
				c.making = map[string]*generation{}
			}
			g, gen, now := &generation{done: make(chan struct{})}, f.Generate, c.deps.Now()
			c.making[f.Key] = g
			go func() {
				defer close(g.done)
				g.value, g.err = gen(now)
			}()
		}
	}
}

// ChooseMethod picks the auth method and fills field defaults, keeping values
// already typed. On a reconnect, a method other than the connection's is
// refused until the person agreed to the switch (ConfirmMethodSwitch).
func (c *Connect) ChooseMethod(id string) error {
	if c.Vendor == nil {
		return errors.New("choose a vendor first")
	}
	m := c.Vendor.Method(id)
	if m == nil {
		return fmt.Errorf("%s has no auth method %q", c.Vendor.Name, id)
	}
	if q := c.MethodSwitch(id); q != "" && c.switchTo != id {
		return ErrMethodSwitch
	}
	c.Method, c.Result = m, nil
	for _, f := range m.Fields {
		if _, ok := c.Values[f.Key]; !ok && f.Default != "" {
			c.Values[f.Key] = f.Default
		}
	}
	return c.generate()
}

// generate takes the method's generated secrets (a key pair) once: going
// back and forth keeps them, so what the person uploaded stays valid.
func (c *Connect) generate() error {
	for _, f := range c.Method.Fields {
		if f.Generate == nil || c.Values[f.Key] != "" {
			continue
		}
		c.prepare()
		g := c.making[f.Key]
		<-g.done
		if g.err != nil {
			delete(c.making, f.Key) // the next choice tries again
			return fmt.Errorf("make the %s: %w", strings.ToLower(f.Label), g.err)
		}
		c.Values[f.Key] = g.value
	}
	return nil
}

// Copy is what the person copies into the vendor's UI: the method's value
// (a redirect URI), or the public part of what onramp generated for it (a
// certificate); nil when there is none.
func (c *Connect) Copy() *Copyable {
	if c.Method == nil {
		return nil
	}
	for _, f := range c.Method.Fields {
		v := c.Values[f.Key]
		if f.Public == nil || v == "" {
			continue
		}
		if c.publicOf != v {
			p, err := f.Public(v)
			if err != nil {
				continue
			}
			c.public, c.publicOf = p, v
		}
		return c.public
	}
	return c.Method.Copy
}

// Retype is the field a reconnect asks for again (the credential it
// replaces), or "" when the kept values authorize as they are.
func (c *Connect) Retype() string {
	for _, f := range c.VisibleFields() {
		if f.Secret && !f.Optional && c.Values[f.Key] == "" {
			return f.Key
		}
	}
	return ""
}

// ErrMethodSwitch: a reconnect would change the connection's auth method,
// and the person has not agreed to it yet.
var ErrMethodSwitch = errors.New("changing a reconnected connection's auth method needs a yes first")

// MethodSwitch returns the question to ask before choosing method id on a
// reconnect, when id is not the connection's method; "" otherwise.
func (c *Connect) MethodSwitch(id string) string {
	if c.Reconnecting == nil || c.Reconnecting.AuthMethod == id || c.Vendor == nil {
		return ""
	}
	from, to := c.Vendor.Method(c.Reconnecting.AuthMethod), c.Vendor.Method(id)
	if from == nil || to == nil {
		return ""
	}
	return fmt.Sprintf("Switch %s from %s to %s? Its current credential is replaced once the new one is verified.", c.Reconnecting.Alias, from.Name, to.Name)
}

// ConfirmMethodSwitch records the person's yes to MethodSwitch(id).
func (c *Connect) ConfirmMethodSwitch(id string) { c.switchTo = id }

// VisibleFields are the fields the person types: the method's, minus
// on-demand ones not yet asked for and the ones onramp generates.
func (c *Connect) VisibleFields() []Field {
	var out []Field
	for _, f := range c.Method.Fields {
		if f.Generate == nil && (!f.OnDemand || c.Revealed[f.Key]) {
			out = append(out, f)
		}
	}
	return out
}

// SetValue trims, checks and stores a field value. On error the raw value is
// still kept (nothing typed is lost) and the error says what is wrong.
func (c *Connect) SetValue(key, raw string) error {
	f := c.Method.Field(key)
	if f == nil {
		return fmt.Errorf("no field %q", key)
	}
	v := strings.TrimSpace(raw)
	if got, ok := c.checked[key]; ok && got == v && c.Values[key] == v {
		return nil // this very value passed already
	}
	if v != c.Values[key] {
		delete(c.Confirmed, key)
		c.Result = nil
	}
	delete(c.checked, key)
	c.Values[key] = v
	if v == "" {
		if f.Address {
			c.address = Address{}
		}
		if key == caFieldKey(c.Method) {
			c.CABundle = nil
		}
		if f.Optional {
			c.checked[key] = ""
			return nil
		}
		return fieldError(key, "%s is required", f.Label)
	}
	if f.Normalize != nil {
		n, err := f.Normalize(v)
		if err != nil {
			return &StepError{Field: key, Message: err.Error(), Err: err}
		}
		v, c.Values[key] = n, n
	}
	if f.Address {
		at, err := c.Vendor.Connector.ParseAddress(v)
		if err != nil {
			c.address = Address{}
			return &StepError{Field: key, Message: err.Error(), Err: err}
		}
		c.address = at
		if len(f.Choices) == 0 { // a chosen value stays as chosen; an address typed is shown as it is used
			c.Values[key] = at.URL
		}
	}
	if key == caFieldKey(c.Method) {
		pemBytes, err := readCABundle(v)
		if err != nil {
			return &StepError{Field: key, Message: err.Error(), Err: err}
		}
		c.CABundle = pemBytes
	}
	c.checked[key] = c.Values[key]
	return nil
}

// caFieldKey is the method's on-demand CA field, if it has one.
func caFieldKey(m *AuthMethod) string {
	for _, f := range m.Fields {
		if f.OnDemand {
			return f.Key
		}
	}
	return ""
}

// readCABundle loads a PEM file and checks it holds a CA certificate.
func readCABundle(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	rest, n := b, 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%s holds a certificate that does not parse: %v", path, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return b, nil
}

// Question returns the confirmation a field still needs, or "": plain
// http to another machine, for the address field.
func (c *Connect) Question(key string) string {
	f := c.Method.Field(key)
	if f == nil || !f.Address || c.Confirmed[key] || !c.address.Plain() || httpx.OnThisMachine(connector.Hostname(c.address.URL)) {
		return ""
	}
	return "This address uses plain http: the credential would cross the network unencrypted. Use it anyway?"
}

// Address is the instance's address as checked (zero until the address
// field passes).
func (c *Connect) Address() Address { return c.address }

// addressField is the method's field that says where the instance lives.
func addressField(m *AuthMethod) *Field {
	for i := range m.Fields {
		if m.Fields[i].Address {
			return &m.Fields[i]
		}
	}
	return nil
}

// Confirm records a yes to the field's question.
func (c *Connect) Confirm(key string) { c.Confirmed[key] = true }

// CheckFields validates every visible field, returning the first problem.
func (c *Connect) CheckFields() error {
	if c.Method == nil {
		return errors.New("choose an auth method first")
	}
	for _, f := range c.VisibleFields() {
		if err := c.SetValue(f.Key, c.Values[f.Key]); err != nil {
			return err
		}
		if q := c.Question(f.Key); q != "" {
			return &StepError{Field: f.Key, Message: q}
		}
	}
	return nil
}

// DefaultAlias is derived from the host and made unique in the store.
func (c *Connect) DefaultAlias(ctx context.Context) string {
	return uniqueAlias(ctx, c.deps.Store, c.Vendor, c.Vendor.Connector.DefaultAlias(c.address, c.Values))
}

// KeepAlias keeps an alias the person typed (already checked, or kept
// unchecked as they leave the page); "" leaves it to onramp.
func (c *Connect) KeepAlias(alias string) { c.Alias = strings.TrimSpace(alias) }

// ToggleAlias asks for (or stops asking for) a name for the connection.
func (c *Connect) ToggleAlias() {
	if c.Reconnecting == nil {
		c.WantAlias = !c.WantAlias
	}
}

// KeepTyped keeps raw input as typed, unchecked, when the person leaves a
// page: nothing typed is lost, and it is checked when they come back.
func (c *Connect) KeepTyped(key, raw string) { c.Values[key] = strings.TrimSpace(raw) }

// Reveal shows an on-demand field (a private CA's file) from the start.
func (c *Connect) Reveal(key string) { c.Revealed[key] = true }

// SetAlias checks an alias (format, then clash) and keeps it either way.
func (c *Connect) SetAlias(ctx context.Context, alias string) error {
	c.Alias = strings.TrimSpace(alias)
	return c.AliasChecker()(ctx, c.Alias)
}

// AliasChecker returns SetAlias's check without the flow: format, then a
// clash in the store. The wizard runs it off its UI goroutine and keeps
// the alias once it passes.
func (c *Connect) AliasChecker() func(ctx context.Context, alias string) error {
	st, vendor := c.deps.Store, c.Vendor
	return func(ctx context.Context, alias string) error {
		alias = strings.TrimSpace(alias)
		if err := store.ValidAlias(alias); err != nil {
			return &StepError{Field: "alias", Message: err.Error(), Err: err}
		}
		existing, err := st.Find(ctx, vendor.ID, alias)
		switch {
		case err == nil:
			return &StepError{Field: "alias", Err: store.ErrAliasTaken,
				Message: fmt.Sprintf("%q is already the alias of the %s connection to %s (made by %s)", existing.Alias, vendor.Name, textsafe.Line(existing.BaseURL), textsafe.Line(existing.CreatedBy)),
				Hint:    "Aliases are unique per vendor, ignoring case: choose another, or remove that connection first"}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	}
}

// Authorize verifies the credential against the vendor. A failure is a
// *StepError naming the field to fix; an unknown-authority failure reveals
// the CA field. Every value typed is kept.
func (c *Connect) Authorize(ctx context.Context) (*Verification, error) {
	if err := c.CheckFields(); err != nil {
		return nil, err
	}
	hc, err := c.deps.NewHTTP(httpOptions(c))
	if err != nil {
		return nil, &StepError{Field: caFieldKey(c.Method), Message: err.Error(), Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.deps.Timeout)
	defer cancel()
	v, err := c.Vendor.Connector.Verify(ctx, c.verifyRequest(hc))
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, &StepError{Message: "cancelled", Err: context.Canceled}
		}
		se := explain(err)
		if se.Field != "" && c.Method.Field(se.Field) != nil && c.Method.Field(se.Field).OnDemand {
			c.Revealed[se.Field] = true
		}
		return nil, se
	}
	c.Result = v
	return v, nil
}

// Save stores the verified connection. An alias taken meanwhile (another
// operator was quicker) comes back as a StepError on the alias.
func (c *Connect) Save(ctx context.Context) (*store.Connection, error) {
	if c.Result == nil {
		return nil, errors.New("authorize before saving")
	}
	// An alias left to onramp is derived now, from the values as they are
	// (kept out of c.Alias so that it follows a URL fixed after a failure).
	alias := c.Alias
	if alias == "" {
		alias = c.DefaultAlias(ctx)
	}
	v := c.Result
	conn := &store.Connection{
		Vendor: c.Vendor.ID, Alias: alias, BaseURL: v.BaseURL, AuthMethod: c.Method.ID,
		Account: v.Account, Scopes: v.Scopes, TokenName: v.TokenName, ExpiresAt: v.ExpiresAt,
		ServerVersion: v.ServerVersion, ServerEdition: v.ServerEdition, CABundle: string(c.CABundle),
		State: store.StateConnected, Rotation: v.Rotation, Settings: c.settings(),
	}
	if c.oauthToken != nil {
		c.oauthSecrets(conn)
	} else {
		for _, f := range c.Method.Fields {
			if f.Secret && c.Values[f.Key] != "" {
				conn.SetSecret(f.Key, store.Secret(c.Values[f.Key]))
			}
		}
	}
	if c.deps.Actor != "" {
		ctx = store.WithActor(ctx, c.deps.Actor)
	}
	if c.Reconnecting != nil {
		return c.saveReconnect(ctx, conn)
	}
	if err := c.deps.Store.Create(ctx, conn); err != nil {
		if errors.Is(err, store.ErrAliasTaken) {
			return nil, &StepError{Field: "alias", Err: err,
				Message: fmt.Sprintf("the alias %q was taken while you were onboarding", alias),
				Hint:    "Choose another alias"}
		}
		return nil, fmt.Errorf("save connection: %w", err)
	}
	c.Saved = conn
	return conn, nil
}

// settings are the method's non-secret values to keep beside the secrets (a
// CA's file path is not kept: its certificates are, in CABundle).
func (c *Connect) settings() map[string]string {
	out := map[string]string{}
	for _, f := range c.Method.Fields {
		if v := c.Values[f.Key]; v != "" && !f.Secret && !f.OnDemand {
			out[f.Key] = v
		}
	}
	return out
}

// saveReconnect replaces the credential of the connection being reconnected.
func (c *Connect) saveReconnect(ctx context.Context, fresh *store.Connection) (*store.Connection, error) {
	// The new credential and its first sync are committed together.
	updated, err := c.deps.Store.UpdateAndSync(ctx, c.Reconnecting.ID, func(cur *store.Connection) error {
		if cur.Vendor != fresh.Vendor {
			return fmt.Errorf("%s is a %s connection; a reconnect cannot make it %s", cur.Alias, cur.Vendor, fresh.Vendor)
		}
		cur.BaseURL, cur.AuthMethod, cur.Account, cur.Scopes = fresh.BaseURL, fresh.AuthMethod, fresh.Account, fresh.Scopes
		cur.TokenName, cur.ExpiresAt, cur.AccessExpiresAt = fresh.TokenName, fresh.ExpiresAt, fresh.AccessExpiresAt
		cur.ServerVersion, cur.ServerEdition, cur.ClientID = fresh.ServerVersion, fresh.ServerEdition, fresh.ClientID
		if fresh.CABundle != "" {
			cur.CABundle = fresh.CABundle
		}
		cur.Secrets = fresh.Secrets
		if cur.Rotation != nil && fresh.Rotation != nil && fresh.Rotation.Cannot == "" && cur.Rotation.Cannot == "" {
			fresh.Rotation.LeadDays = cur.Rotation.LeadDays // the person's choice outlives the token
		}
		cur.Rotation, cur.Settings = fresh.Rotation, fresh.Settings
		cur.State, cur.StateReason = store.StateConnected, ""
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("save reconnected connection: %w", err)
	}
	c.Saved = updated
	return updated, nil
}

// verifyRequest is what the vendor needs to check the credential typed.
func (c *Connect) verifyRequest(hc *http.Client) VerifyRequest {
	return VerifyRequest{Method: c.Method.ID, Address: c.address, Values: c.Values, CABundle: c.CABundle, HTTP: hc, Now: c.deps.Now()}
}

func httpOptions(c *Connect) httpx.Options {
	return httpx.Options{CABundle: c.CABundle, Timeout: c.deps.Timeout}
}

// Snapshot copies the flow so slow work (verifying, saving, starting an
// OAuth attempt) can run on another goroutine without touching what the
// wizard draws; TakeOutcome brings back what that work found, and only that.
func (c *Connect) Snapshot() *Connect {
	cp := *c
	cp.Values = cloneMap(c.Values)
	cp.Confirmed = cloneMap(c.Confirmed)
	cp.Revealed = cloneMap(c.Revealed)
	cp.checked = cloneMap(c.checked)
	cp.making = cloneMap(c.making)
	return &cp
}

// TakeOutcome takes back what a snapshot's work found: the verification,
// the stored connection, the OAuth token, the fields a failure revealed.
// What the person typed stays as it is on the wizard's side.
func (c *Connect) TakeOutcome(done *Connect) {
	c.Result, c.Saved, c.oauthToken = done.Result, done.Saved, done.oauthToken
	for k := range done.Revealed {
		c.Revealed[k] = true
	}
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
