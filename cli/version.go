package cli

import (
	"runtime"

	"github.com/onramp-dev/onramp/internal/version"
)

func versionString() string {
	return "onramp " + version.Version + " (" + runtime.Version() + ")"
}
