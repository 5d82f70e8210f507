package store

import (
	"os"
	"os/user"
	"path/filepath"
)

// DefaultPath is where the store lives unless --store or ONRAMP_STORE says
// otherwise: $XDG_DATA_HOME/onramp/onramp.db, else ~/.local/share/onramp/.
func DefaultPath(getenv func(string) string) string {
	if p := getenv("ONRAMP_STORE"); p != "" {
		return p
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "onramp", "onramp.db")
	}
	return filepath.Join(homeDir(getenv), ".local", "share", "onramp", "onramp.db")
}

// DefaultConfigDir holds key files: $XDG_CONFIG_HOME/onramp, else ~/.config/onramp.
func DefaultConfigDir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "onramp")
	}
	return filepath.Join(homeDir(getenv), ".config", "onramp")
}

func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// OSUser names the local user, recorded as who created or changed a connection.
func OSUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
