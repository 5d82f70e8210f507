package store

import (
	"runtime"

	"github.com/zalando/go-keyring"
)

// SystemKeyring returns the OS keyring, or nil where none can answer: on Linux
// without a D-Bus session (headless hosts, SSH sessions, containers) the
// Secret Service is unreachable and asking it would only spawn dbus-launch or
// hang. ONRAMP_NO_KEYRING=1 turns it off everywhere.
func SystemKeyring(getenv func(string) string) Keyring {
	if getenv("ONRAMP_NO_KEYRING") != "" {
		return nil
	}
	if runtime.GOOS == "linux" && getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nil
	}
	return systemKeyring{}
}

type systemKeyring struct{}

func (systemKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (systemKeyring) Set(service, user, secret string) error {
	return keyring.Set(service, user, secret)
}
