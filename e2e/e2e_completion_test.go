package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
)

// Issue 13: `onramp completion bash|zsh`, sourced by the real shells,
// completes vendors from the catalog and aliases from the store — read
// without the key: a passphrase command set for the shell never runs.
// (bash needs Debian's bash-completion, as cobra's script does anywhere.)
func TestE2ECompletionInBashAndZsh(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	h := newHome(t)
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.Admin, "prod-east")
	connectToken(t, h, srv.BaseURL, gitlabtest.DemoTokens.NonAdmin, "prod-west")
	for i, e := range h.env {
		if strings.HasPrefix(e, "PATH=") {
			h.env[i] = "PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH")
		}
	}
	marker := filepath.Join(h.dir, "PASSPHRASE-COMMAND-RAN")
	h.env = append(h.env, "ONRAMP_PASSPHRASE_COMMAND=touch "+marker+"; echo secret")

	for _, shell := range []struct{ name, start, setup string }{
		{"bash", "bash --norc --noprofile -i", "source /usr/share/bash-completion/bash_completion && source <(onramp completion bash)"},
		{"zsh", "zsh -f -i", "autoload -U compinit && compinit -u && source <(onramp completion zsh)"},
	} {
		t.Run(shell.name, func(t *testing.T) {
			tm := startTmux(t, h, 120, 30, shell.start)
			tm.typeText(shell.setup + "; echo READY")
			tm.keys("Enter")
			tm.waitFor("READY")
			tm.typeText("onramp show pro")
			tm.keys("Tab") // the common prefix; then (bash: two tabs) the list
			tm.waitFor("onramp show prod-")
			tm.keys("Tab", "Tab")
			tm.waitFor("prod-east", "prod-west")
			tm.keys("C-u")
			tm.typeText("onramp sync prod-e")
			tm.keys("Tab")
			tm.waitFor("onramp sync prod-east")
			tm.keys("C-u")
			tm.typeText("onramp conn")
			tm.keys("Tab")
			tm.waitFor("onramp connect")
			tm.keys("Tab", "Tab") // every vendor
			tm.waitFor("gitlab", "github", "microsoft")
			tm.keys("C-u")
			tm.typeText("onramp connect g")
			tm.keys("Tab") // the common prefix of two, then (two tabs) both
			tm.waitFor("onramp connect git")
			tm.keys("Tab", "Tab")
			tm.waitFor("gitlab", "github")
			tm.keys("C-u")
			tm.typeText("onramp connect m")
			tm.keys("Tab")
			tm.waitFor("onramp connect microsoft")
			tm.keys("C-u")
			tm.typeText("onramp connect gith")
			tm.keys("Tab")
			tm.waitFor("onramp connect github")
		})
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("completing an alias ran the passphrase command")
	}
}
