package microsoft

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505: Entra lists a certificate by its SHA-1 thumbprint; it is a name, not a signature
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Certificate is the key pair onramp makes for an app registration: the
// private key stays sealed in onramp's store, the certificate (public) is
// uploaded under the app's Certificates & secrets. Entra takes an RSA key
// of 2048 bits or more.
type Certificate struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// certificateYears is how long a certificate onramp makes is valid: Entra
// accepts up to its own limits, and onramp warns before the end.
const certificateYears = 2

// NewCertificate makes a key pair and a self-signed certificate for the
// app named subject, valid from now for two years.
func NewCertificate(subject string, now time.Time) (*Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    now.Add(-5 * time.Minute).UTC(),
		NotAfter:     now.AddDate(certificateYears, 0, 0).UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make a certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Certificate{Key: key, Cert: cert}, nil
}

// Sealed is the pair as onramp stores it (a secret): the private key
// (PKCS #8) and the certificate, in PEM.
func (c *Certificate) Sealed() string {
	der, _ := x509.MarshalPKCS8PrivateKey(c.Key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})) + c.PEM()
}

// PEM is the certificate alone, to save and upload.
func (c *Certificate) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw}))
}

// Thumbprint is the certificate's SHA-1 thumbprint as Entra lists it under
// Certificates & secrets (upper-case hex), so the person can match them.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.Cert.Raw) // #nosec G401
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// x5tS256 is the certificate's SHA-256 thumbprint for an assertion's
// header (RFC 7515 §4.1.8).
func (c *Certificate) x5tS256() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParseSealed reads a pair as Sealed wrote it.
func ParseSealed(s string) (*Certificate, error) {
	var out Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the stored private key does not parse: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, errors.New("the stored private key is not an RSA key")
			}
			out.Key = rk
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the stored certificate does not parse: %w", err)
			}
			out.Cert = c
		}
	}
	if out.Key == nil || out.Cert == nil {
		return nil, errors.New("the stored credential lacks its private key or its certificate")
	}
	if !out.Key.PublicKey.Equal(out.Cert.PublicKey) {
		return nil, errors.New("the stored private key does not belong to the stored certificate")
	}
	return &out, nil
}
