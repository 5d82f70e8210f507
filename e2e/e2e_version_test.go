package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/internal/version"
)

// Issue 13: `onramp version` and `--version` name the commit the binary was
// built from (Go's build info, read with runtime/debug), not only a number.
func TestE2EVersionNamesTheCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git: %v (the tests run in a clone)", err)
	}
	bin := filepath.Join(t.TempDir(), "onramp")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	var info version.Info
	if err != nil || json.Unmarshal(out, &info) != nil {
		t.Fatalf("version --json: %v %s", err, out)
	}
	if info.Revision != strings.TrimSpace(string(head)) || info.Go == "" || info.Version == "" {
		t.Fatalf("version: %+v, HEAD %s", info, head)
	}
	flag, _ := exec.Command(bin, "--version").Output()
	if !strings.HasPrefix(string(flag), "onramp version "+info.Version+" ("+info.Revision[:12]) {
		t.Fatalf("--version: %q", flag)
	}
}
