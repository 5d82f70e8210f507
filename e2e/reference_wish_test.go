package e2e

import (
	"fmt"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
)

// The reference SSH server the login figures are set against: the wish v2
// stack soft-serve is built on (public-key auth, the Bubble Tea middleware,
// a program per session) with wish's defaults and nothing of onramp's
// admission, showing the same first line as onramp's catalog. soft-serve
// itself cannot be fetched here (the module proxy answers 403), so this
// stands in for it; it runs in a process of its own, as onramp serve does:
// the test binary started again with ONRAMP_REFERENCE_WISH=ADDR.

// referenceModel is a one-screen program.
type referenceModel struct{}

func (referenceModel) Init() tea.Cmd { return nil }
func (m referenceModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	return m, nil
}
func (referenceModel) View() tea.View { return tea.NewView("Which app do you want to connect?\n") }

// runReferenceWish serves until killed; TestMain calls it before anything
// else when ONRAMP_REFERENCE_WISH is set.
func runReferenceWish(addr string) {
	dir, _ := os.MkdirTemp("", "reference-wish-*")
	srv, err := wish.NewServer(
		wish.WithAddress(addr),
		wish.WithHostKeyPath(filepath.Join(dir, "host_ed25519")),
		wish.WithPublicKeyAuth(func(ssh.Context, ssh.PublicKey) bool { return true }),
		wish.WithMiddleware(bm.Middleware(func(ssh.Session) (tea.Model, []tea.ProgramOption) {
			return referenceModel{}, nil
		})),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
