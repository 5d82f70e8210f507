package mstest

import (
	"crypto/sha1" // #nosec G505: x5t, as Entra reads it from older clients
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// checkAssertion checks a client assertion as Entra does (RFC 7523 and
// Microsoft's certificate-credentials page): the certificate it names
// (x5t#S256, or the older x5t) is one uploaded to the app, the signature
// is by its key (PS256, or RS256), aud is this token endpoint, iss and sub
// are the app, and it has not expired. It returns an AADSTS code and
// message, or 0.
func (s *Server) checkAssertion(app *App, assertion, endpoint string) (int, string) {
	var cert *x509.Certificate
	tok, err := jwt.Parse(assertion, func(t *jwt.Token) (any, error) {
		c, err := s.certificateFor(app, t.Header)
		cert = c
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithAudience(endpoint), jwt.WithIssuer(app.ClientID),
		jwt.WithSubject(app.ClientID), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Minute))
	switch {
	case errors.Is(err, errUnknownCertificate):
		return 700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + thumbprintOf(assertion) + "', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + app.ClientID + "'.]"
	case errors.Is(err, jwt.ErrTokenExpired):
		return 700024, "Client assertion is not within its valid time range."
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return 50012, "Client assertion audience claim does not match Realm issuer."
	case err != nil || !tok.Valid:
		return 700027, "Client assertion failed signature validation."
	}
	if cert != nil && time.Now().After(cert.NotAfter) {
		return 700027, "The certificate used to sign the client assertion has expired."
	}
	return 0, ""
}

var errUnknownCertificate = errors.New("the certificate is not registered on the application")

// certificateFor finds the app's certificate the header names; the demo's
// sandbox registers the first one an app signs with.
func (s *Server) certificateFor(app *App, header map[string]any) (*x509.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, sha := thumbOf(header)
	for _, c := range app.certs {
		if sum := certSum(c, sha); want != "" && sum == want {
			return c, nil
		}
	}
	if (s.opts.TrustFirstCertificate && len(app.certs) == 0) || app.acceptNext {
		if c, ok := header["x5c"].([]any); ok && len(c) > 0 { // the assertion carries its certificate
			if v, ok := c[0].(string); ok {
				if der, err := base64.StdEncoding.DecodeString(v); err == nil {
					if cert, err := x509.ParseCertificate(der); err == nil && certSum(cert, sha) == want {
						app.certs, app.acceptNext = append(app.certs, cert), false
						return cert, nil
					}
				}
			}
		}
	}
	return nil, errUnknownCertificate
}

// thumbOf reads the header's thumbprint, in base64url (RFC 7515) or
// standard base64 (as MSAL sends it), as raw bytes in a string.
func thumbOf(header map[string]any) (sum string, sha256 bool) {
	v, ok := header["x5t#S256"].(string)
	sha256 = ok
	if !ok {
		v, _ = header["x5t"].(string)
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return string(b), sha256
		}
	}
	return "", sha256
}

func certSum(c *x509.Certificate, useSHA256 bool) string {
	if useSHA256 {
		s := sha256.Sum256(c.Raw)
		return string(s[:])
	}
	s := sha1.Sum(c.Raw) // #nosec G401
	return string(s[:])
}

// thumbprintOf is the thumbprint an assertion names, for Entra's message.
func thumbprintOf(assertion string) string {
	t, _, err := jwt.NewParser().ParseUnverified(assertion, jwt.MapClaims{})
	if err != nil {
		return ""
	}
	sum, _ := thumbOf(t.Header)
	return hexOf([]byte(sum))
}

func parsePEMCert(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
