package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onramp-dev/onramp/flows"
)

// app is an App in a fresh isolated environment.
func app(t *testing.T, stdin string) (*App, *bytes.Buffer, *bytes.Buffer) {
	return appWith(appEnv(t), stdin)
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"help"}, ExitOK, ""},
		{[]string{"version"}, ExitOK, ""},
		{[]string{"nope"}, ExitUsage, "unknown command"},
		{[]string{"help", "nope"}, ExitUsage, `no help topic "nope"`},
		{[]string{"help", "sync"}, ExitOK, ""},
		{[]string{"connect"}, ExitUsage, "vendors: gitlab"},
		{[]string{"connect", "jira", "--token-stdin"}, ExitUsage, "no vendor"},
		{[]string{"connect", "gitlab", "--token", "glpat-x"}, ExitUsage, "visible to every user"},
		{[]string{"connect", "gitlab", "--token-stdin", "--token-file", "f"}, ExitUsage, "exactly one"},
		// No silent gitlab.com, and the missing flag is named before the alias.
		{[]string{"connect", "gitlab", "--token-stdin"}, ExitUsage, "--url is required"},
		{[]string{"connect", "gitlab", "--url", "ftp://x", "--token-stdin"}, ExitUsage, "--url"},
		{[]string{"connect", "gitlab", "--url", "http://gitlab.example.com", "--token-stdin"}, ExitUsage, "--allow-http"},
		{[]string{"show", "missing"}, ExitNotFound, "not found"},
		{[]string{"show"}, ExitUsage, "Usage: onramp show ALIAS"},
		{[]string{"show", "a", "b"}, ExitUsage, `unexpected argument "b"`},
		{[]string{"--bogus"}, ExitUsage, "unknown flag: --bogus\nUsage: onramp [flags]"},
		{[]string{"list", "--bogus"}, ExitUsage, "Usage: onramp list [flags]"},
		{[]string{"schedule", "prod", "weekly"}, ExitUsage, "6h, 24h or 30m"},
		{[]string{"schedule", "prod", "2562047h"}, ExitUsage, "from 5m to 720h (30d)"},
		{[]string{"schedule", "prod", "30s"}, ExitUsage, "from 5m to 720h (30d)"},
		{[]string{"schedule", "prod", "31d"}, ExitUsage, "from 5m to 720h (30d)"},
		{[]string{"integrations", "--help"}, ExitOK, ""},
		{[]string{"remove", "missing", "--yes"}, ExitNotFound, "not found"},
		{[]string{"store"}, ExitUsage, "info, migrate or copy"},
		{[]string{"store", "copy"}, ExitUsage, `required flag(s) "to" not set`},
		{[]string{"--store"}, ExitUsage, "flag needs an argument: --store"},
		// A database password in the arguments is refused, unquoted; a
		// mistyped URL is no file name.
		{[]string{"list", "--store", "postgres://onramp:pw-in-argv@127.0.0.1/x"}, ExitUsage, "--store carries the database password"},
		{[]string{"list", "--store", "postgres://onramp@127.0.0.1/x?password=pw-in-argv"}, ExitUsage, "~/.pgpass"},
		{[]string{"store", "copy", "--to", "postgres://onramp:pw-in-argv@127.0.0.1/x"}, ExitUsage, "--to carries the database password"},
		{[]string{"list", "--store", "postgresql//onramp@127.0.0.1/x"}, ExitFailure, "neither a file path nor a PostgreSQL URL"},
	}
	for _, c := range cases {
		a, _, errb := app(t, "glpat-from-stdin-0123456789\n")
		if code := Main(c.args, a); code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, code, c.code, errb.String(), c.msg)
		}
		if strings.Contains(errb.String(), "glpat-from-stdin") || strings.Contains(errb.String(), "pw-in-argv") {
			t.Errorf("%v: secret echoed: %s", c.args, errb.String())
		}
	}
}

func TestGlobalFlagsAnywhere(t *testing.T) {
	a, out, _ := app(t, "")
	store := filepath.Join(t.TempDir(), "elsewhere.db")
	if code := Main([]string{"store", "info", "--json", "--store=" + store}, a); code != 0 {
		t.Fatal(code)
	}
	if !strings.Contains(out.String(), store) {
		t.Fatalf("--store after the command ignored: %s", out)
	}
	a, out, _ = app(t, "")
	if code := Main([]string{"list", "--json"}, a); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("empty list: %d %q", code, out)
	}
}

// Issue 21, item 6: counts read as words ("1 page", not "1 pages").
func TestProgressLineCountsInWords(t *testing.T) {
	if got := progressLine(flows.Progress{Users: 1, Pages: 1}, 20); !strings.Contains(got, "1 user · 1 page ·") {
		t.Fatalf("%q", got)
	}
}

// On a terminal, a table fits its width: the widest columns are cut with
// "…" instead of every line wrapping (issue 21, item 7).
func TestTableFitsTheTerminalWidth(t *testing.T) {
	rows := [][]string{{"ALIAS", "HOST", "EXPIRES"}, {"prod", "gitlab.internal.example.com:8443/tools/gitlab", "2027-01-04 (in 31 days)"}, {"eu", "gl.eu", "never"}}
	for _, width := range []int{0, 40, 60, 100} {
		w := fitColumns(columnWidths(rows), width)
		total := columnGap * (len(w) - 1)
		for _, c := range w {
			total += c
		}
		if width > 0 && total > width {
			t.Errorf("width %d: columns %v take %d", width, w, total)
		}
		if width == 0 || width == 100 {
			if w[1] != len(rows[1][1]) {
				t.Errorf("width %d: host cut to %d though it fits", width, w[1])
			}
		}
	}
	// Equal columns share the cut and the narrowing always ends.
	if w := fitColumns([]int{30, 30, 30}, 50); w[0]+w[1]+w[2]+2*columnGap > 50 || w[0]-w[2] > 1 {
		t.Errorf("equal columns: %v", w)
	}
	if w := fitColumns([]int{8, 8, 8}, 10); w[0] != 3 { // 3 at least, even where nothing fits
		t.Errorf("below the floor: %v", w)
	}
}
