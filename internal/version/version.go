// Package version names this build, for the User-Agent and `onramp version`.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X .../internal/version.Version=…";
// otherwise the module version the binary was built at (`go install
// …@v1.2.3`) is used, and this when there is none (a build from a clone).
var Version = devVersion

// devVersion is Version when neither -ldflags nor the module version says.
const devVersion = "0.1.0-dev"

// Info is what `onramp version` says.
type Info struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"` // the VCS commit built
	Modified bool   `json:"modified,omitempty"` // the work tree had changes
	Time     string `json:"time,omitempty"`     // the commit's time
	Go       string `json:"go"`
}

// Read collects the build's version from the build info Go embeds.
func Read() Info {
	info := Info{Version: Version, Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && Version == devVersion {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.Time = s.Value
		}
	}
	return info
}

// String is one line: "0.1.0-dev (a1b2c3d4e5f6, modified) go1.26.8".
func String() string {
	i := Read()
	s := i.Version
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if i.Modified {
			rev += ", modified"
		}
		s += " (" + rev + ")"
	}
	return s + " " + i.Go
}

// UserAgent is sent with every HTTP request onramp makes.
func UserAgent() string { return "onramp/" + Version }
