package store

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"
)

// sealVersion is the format of sealed values. It is recorded with every
// sealed value and bound into its associated data, so schema migrations never
// invalidate secrets and a value sealed under one format cannot pass as another.
const sealVersion = 1

// KeySize is the length of the data key.
const KeySize = chacha20poly1305.KeySize

// sealer seals secret fields with XChaCha20-Poly1305 and a random nonce. The
// associated data binds store id, record id, field name and seal version.
type sealer struct {
	aead    cipher.AEAD
	storeID string
}

func newSealer(key []byte, storeID string) (*sealer, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return &sealer{aead: aead, storeID: storeID}, nil
}

func (s *sealer) ad(recordID, field string, version int) []byte {
	return []byte("onramp-seal|" + s.storeID + "|" + recordID + "|" + field + "|" + strconv.Itoa(version))
}

func (s *sealer) seal(recordID, field string, plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported systems
	}
	return s.aead.Seal(nonce, nonce, plaintext, s.ad(recordID, field, sealVersion))
}

func (s *sealer) open(recordID, field string, version int, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("sealed %s of %s is truncated: %w", field, recordID, ErrCorrupt)
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], s.ad(recordID, field, version))
	if err != nil {
		return nil, fmt.Errorf("sealed %s of %s does not open: %w", field, recordID, ErrWrongKey)
	}
	return pt, nil
}
