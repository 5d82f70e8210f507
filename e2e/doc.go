// Package e2e holds onramp's end-to-end tests: they build the real binary
// and drive it in tmux as a person would, as a script would, over SSH with
// OpenSSH and x/crypto/ssh clients, with headless Chromium, against
// PostgreSQL and the sandboxes, and as systemd would start it. `go test
// ./...` runs them with the rest.
package e2e
