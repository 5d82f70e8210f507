package model

import (
	"encoding/json"
	"log/slog"
	"strings"
)

// Secret is a credential value. Formatting it with fmt, JSON or slog yields a
// fingerprint, so a stray Printf cannot leak it; Reveal is the one way out.
type Secret string

// Reveal returns the secret itself, for sending to the vendor.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string   { return Fingerprint(string(s)) }
func (s Secret) GoString() string { return `store.Secret("` + Fingerprint(string(s)) + `")` }

// MarshalJSON writes the fingerprint.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(Fingerprint(string(s))) }

// LogValue makes slog print the fingerprint.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Fingerprint(string(s))) }

// knownPrefixes are vendor token prefixes worth keeping in a fingerprint:
// they tell a person which kind of token it is without revealing it.
var knownPrefixes = []string{
	"glpat-", "gloas-", "glrt-", "gldt-", "glptt-", "glft-", "glimt-", "glagent-", "glsoat-",
	"ghp_", "gho_", "github_pat_",
}

// Fingerprint shows enough of a secret to recognise it (a known prefix and the
// last four characters, as `glpat-…a1b2`) and nothing when it is too short to
// spare four characters.
func Fingerprint(s string) string {
	if s == "" {
		return ""
	}
	prefix := ""
	for _, p := range knownPrefixes {
		if strings.HasPrefix(s, p) {
			prefix = p
			break
		}
	}
	rest := len(s) - len(prefix)
	if rest < 16 {
		return prefix + "…"
	}
	return prefix + "…" + s[len(s)-4:]
}
