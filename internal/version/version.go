// Package version names this build, for the User-Agent and `onramp version`.
package version

// Version is set at build time with -ldflags "-X .../internal/version.Version=…".
var Version = "0.1.0-dev"

// UserAgent is sent with every HTTP request onramp makes.
func UserAgent() string { return "onramp/" + Version }
