package mstest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"

	"github.com/onramp-dev/onramp/microsoft"
	"github.com/onramp-dev/onramp/microsoft/mstest"
)

// The sandbox must satisfy software Microsoft wrote, not only onramp's:
// azidentity (over MSAL) obtains app-only tokens from it with a client
// certificate and with a client secret, reading its OpenID configuration
// first, and Kiota's JSON parse nodes decode its Graph pages.

func tlsClient(t *testing.T, srv *mstest.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAPEM) {
		t.Fatal("no sandbox CA")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
}

func clientOptions(srv *mstest.Server, hc *http.Client) azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.BaseURL + "/"}, Transport: hc}
}

func TestAzidentityCredentialsObtainTokens(t *testing.T) {
	srv := mstest.Start(mstest.Options{TLS: true, Users: 30})
	defer srv.Close()
	hc := tlsClient(t, srv)
	app := srv.NewApp()
	srv.Grant(app, mstest.Requested...)
	cert, err := microsoft.NewCertificate("onramp fidelity", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.UploadCertificate(app, cert.PEM()); err != nil {
		t.Fatal(err)
	}
	scope := policy.TokenRequestOptions{Scopes: []string{srv.BaseURL + "/.default"}}
	ctx := context.Background()

	byCert, err := azidentity.NewClientCertificateCredential(mstest.TenantID, app, []*x509.Certificate{cert.Cert}, cert.Key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(srv, hc), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := byCert.GetToken(ctx, scope)
	if err != nil || tok.Token == "" || time.Until(tok.ExpiresOn) < 50*time.Minute {
		t.Fatalf("certificate credential: %v %+v", err, tok)
	}
	readPage(t, srv, hc, tok.Token)

	secret := srv.AddSecret(app, time.Now().AddDate(0, 1, 0))
	bySecret, err := azidentity.NewClientSecretCredential(mstest.TenantID, app, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(srv, hc), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := bySecret.GetToken(ctx, scope); err != nil || tok.Token == "" {
		t.Fatalf("secret credential: %v", err)
	}
	wrong, _ := azidentity.NewClientSecretCredential(mstest.TenantID, app, "nope",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(srv, hc), DisableInstanceDiscovery: true})
	if _, err := wrong.GetToken(ctx, scope); err == nil {
		t.Fatal("a wrong secret got a token")
	} else if ae, ok := err.(*azidentity.AuthenticationFailedError); !ok || ae.RawResponse.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %T %v", err, err)
	}
	if srv.Tokens() != 2 {
		t.Fatalf("%d tokens issued", srv.Tokens())
	}
}

// kUser is a Graph user as a Kiota model sees it.
type kUser struct{ id, upn string }

func (u *kUser) Serialize(absser.SerializationWriter) error { return nil }
func (u *kUser) GetFieldDeserializers() map[string]func(absser.ParseNode) error {
	str := func(dst *string) func(absser.ParseNode) error {
		return func(n absser.ParseNode) error {
			v, err := n.GetStringValue()
			if v != nil {
				*dst = *v
			}
			return err
		}
	}
	return map[string]func(absser.ParseNode) error{"id": str(&u.id), "userPrincipalName": str(&u.upn)}
}

// readPage follows the users' pages with Kiota's parse nodes.
func readPage(t *testing.T, srv *mstest.Server, hc *http.Client, token string) {
	t.Helper()
	next, seen := srv.BaseURL+"/v1.0/users?$select=id,userPrincipalName&$top=7", 0
	for next != "" {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		node, err := jsonser.NewJsonParseNode(body)
		if err != nil {
			t.Fatal(err)
		}
		value, err := node.GetChildNode("value")
		if err != nil || value == nil {
			t.Fatalf("no value: %v", err)
		}
		users, err := value.GetCollectionOfObjectValues(func(absser.ParseNode) (absser.Parsable, error) { return &kUser{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if ku := u.(*kUser); ku.id == "" || ku.upn == "" {
				t.Fatalf("a user Kiota read empty: %+v", ku)
			}
		}
		seen += len(users)
		next = ""
		if n, _ := node.GetChildNode("@odata.nextLink"); n != nil {
			if s, _ := n.GetStringValue(); s != nil {
				next = *s
			}
		}
	}
	if seen != 30 {
		t.Fatalf("Kiota read %d users of 30", seen)
	}
}

// Graph's error body decodes as Graph's SDKs read it (error.code, message).
func TestODataErrorShape(t *testing.T) {
	srv := mstest.Start(mstest.Options{})
	defer srv.Close()
	resp, err := http.Get(srv.BaseURL + "/v1.0/users")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code, Message string
			InnerError    map[string]any `json:"innerError"`
		} `json:"error"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || resp.StatusCode != 401 || body.Error.Code != "InvalidAuthenticationToken" || body.Error.InnerError["request-id"] == nil {
		t.Fatalf("%d %+v", resp.StatusCode, body)
	}
}
