package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Key sources, recorded in the store so that reopening uses the same one.
const (
	KeySourceKeyring    = "keyring"
	KeySourceFile       = "file"
	KeySourcePassphrase = "passphrase"
	KeySourceCommand    = "command"
)

// keyringTimeout bounds every keyring call: keyrings hang on WSL and headless hosts.
const keyringTimeout = 3 * time.Second

// Keyring is the slice of an OS keyring the store uses.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
}

const keyringService = "onramp"

func keyringUser(storeID string) string { return "store-" + storeID }

// withTimeout runs fn on its own goroutine so a hung keyring cannot hang us;
// the goroutine is abandoned if it never returns.
func withTimeout[T any](ctx context.Context, d time.Duration, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, fmt.Errorf("the OS keyring did not answer within %s", d)
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func newKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return k
}

func keyringLoad(ctx context.Context, kr Keyring, storeID string) ([]byte, error) {
	s, err := withTimeout(ctx, keyringTimeout, func() (string, error) {
		return kr.Get(keyringService, keyringUser(storeID))
	})
	if err != nil {
		return nil, fmt.Errorf("%w: keyring item %s/%s: %v (unlock the keyring, or run where it is reachable)",
			ErrKeyMissing, keyringService, keyringUser(storeID), err)
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("%w: keyring item %s/%s holds no valid key", ErrWrongKey, keyringService, keyringUser(storeID))
	}
	return k, nil
}

func keyringCreate(ctx context.Context, kr Keyring, storeID string) ([]byte, error) {
	k := newKey()
	_, err := withTimeout(ctx, keyringTimeout, func() (struct{}, error) {
		return struct{}{}, kr.Set(keyringService, keyringUser(storeID), base64.StdEncoding.EncodeToString(k))
	})
	if err != nil {
		return nil, err
	}
	// Read it back: some keyrings accept a write they cannot return.
	got, err := keyringLoad(ctx, kr, storeID)
	if err != nil || !bytes.Equal(got, k) {
		return nil, errors.New("the OS keyring did not return the key it stored")
	}
	return k, nil
}

// keyFilePath is where a store's key file lives: the config dir, apart from
// the data dir, so copying the data dir does not copy the key.
func keyFilePath(configDir, storeID string) string {
	return filepath.Join(configDir, "keys", storeID+".key")
}

func keyFileLoad(path string) ([]byte, error) {
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: key file %s does not exist (restore it from your backup; onramp never makes a new key for an existing store)", ErrKeyMissing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("%w: key file %s holds no valid key", ErrWrongKey, path)
	}
	return k, nil
}

func keyFileCreate(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	k := newKey()
	data := []byte(base64.StdEncoding.EncodeToString(k) + "\n")
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return k, nil
}

// commandKey runs the key command and reads the key it prints: 32 bytes in
// base64 or hex. The command's words are never shown (it may carry a token).
func commandKey(ctx context.Context, command string) ([]byte, error) {
	out, err := runKeyCommand(ctx, command)
	if err != nil {
		return nil, fmt.Errorf("%w: the key command failed: %v", ErrKeyMissing, err)
	}
	text := strings.TrimSpace(string(out))
	for _, decode := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, hex.DecodeString} {
		if k, err := decode(text); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: the key command printed no %d-byte key (base64 or hex); `openssl rand -base64 32` makes one", ErrKeyMissing, KeySize)
}

// runKeyCommand runs a passphrase or key command with the person's terminal
// (it may prompt), bounded to a minute.
func runKeyCommand(ctx context.Context, command string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = childEnv(os.Environ())
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

// childEnv is the environment of a command onramp runs, less the database
// password: ONRAMP_STORE without it, no PGPASSWORD.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		name, value, _ := strings.Cut(e, "=")
		switch name {
		case "PGPASSWORD":
			continue
		case "ONRAMP_STORE":
			e = name + "=" + RedactLocation(value)
		}
		out = append(out, e)
	}
	return out
}

// Argon2id parameters: OWASP's 19 MiB, 2 passes; enough against offline
// guessing of a passphrase without a costly start-up.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
)

func passphraseKey(ctx context.Context, command string, salt []byte) ([]byte, error) {
	out, err := runKeyCommand(ctx, command)
	if err != nil {
		return nil, fmt.Errorf("%w: passphrase command failed: %v", ErrKeyMissing, err)
	}
	pass := bytes.TrimRight(out, "\r\n")
	if len(pass) == 0 {
		return nil, fmt.Errorf("%w: passphrase command printed nothing", ErrKeyMissing)
	}
	return argon2.IDKey(pass, salt, argonTime, argonMemory, argonThreads, KeySize), nil
}

// PassphraseCommandFile is where a person may keep their passphrase command
// instead of giving it with the flag or the environment each time.
func PassphraseCommandFile(configDir string) string {
	return filepath.Join(configDir, "passphrase-command")
}

// ReadPassphraseCommand reads the command from PassphraseCommandFile: a
// regular file owned by the user running onramp that nobody else can read
// or write, or it is refused (it names a command onramp will run). "" when
// there is no such file.
func ReadPassphraseCommand(configDir string) (string, error) {
	path := PassphraseCommandFile(configDir)
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("passphrase command file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s is not a regular file; onramp runs the command in it only from a file of yours", ErrInsecureMode, path)
	}
	if !ownedByMe(fi) {
		return "", fmt.Errorf("%w: %s belongs to another user; onramp runs the command in it only from a file of yours", ErrInsecureMode, path)
	}
	if err := checkPrivate(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("passphrase command file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
