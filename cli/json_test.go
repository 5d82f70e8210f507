package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"context"
	"database/sql"

	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// schemaFor compiles one shape of docs/onramp.schema.json.
func schemaFor(t *testing.T, thing string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	path, _ := filepath.Abs("../docs/onramp.schema.json")
	s, err := c.Compile(path + "#/$defs/" + thing)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks out against the schema of thing (an array of them when
// array is set).
func validate(t *testing.T, what, out, thing string, array bool) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
	}
	s := schemaFor(t, thing)
	items := []any{inst}
	if array {
		arr, ok := inst.([]any)
		if !ok || len(arr) == 0 {
			t.Fatalf("%s: want a non-empty array:\n%s", what, out)
		}
		items = arr
	}
	for _, it := range items {
		if err := s.Validate(it); err != nil {
			t.Fatalf("%s does not match the %s schema: %v\n%s", what, thing, err, out)
		}
	}
}

// Issue 13: every command's --json is one documented shape per thing;
// piped text is plain.
func TestJSONMatchesTheSchema(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{AdminMode: true, Users: 120}).Start()
	defer srv.Close()
	run := runner(t)
	out, e, code := run(gitlabtest.DemoTokens.Admin+"\n", "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "prod", "--json")
	if code != 0 {
		t.Fatalf("connect: %d %s", code, e)
	}
	validate(t, "connect", out, "result", false)
	if !strings.Contains(out, `"vendor": "gitlab"`) || !strings.Contains(out, `"auth_method": "token"`) || !strings.Contains(out, `"username": "root"`) {
		t.Fatalf("machine values: %s", out)
	}
	out, _, _ = run("", "list", "--json")
	validate(t, "list", out, "connection", true)
	out, _, _ = run("", "show", "prod", "--json")
	validate(t, "show", out, "connection", false)
	if !strings.Contains(out, `"secrets"`) || strings.Contains(out, gitlabtest.DemoTokens.Admin) {
		t.Fatalf("show: fingerprints only: %s", out)
	}

	out, e, code = run("", "sync", "prod", "--json")
	if code != 0 {
		t.Fatalf("sync: %d %s", code, e)
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		validate(t, "sync event", sc.Text(), "progress", false)
		lines++
	}
	if lines == 0 {
		t.Fatal("sync printed no events")
	}
	out, _, _ = run("", "status", "--json")
	validate(t, "status", out, "status", true)
	out, _, code = run("", "inventory", "prod", "--json")
	if code != 0 {
		t.Fatalf("inventory: %d", code)
	}
	validate(t, "inventory", out, "inventory", false)

	// Piped text: tab-separated rows without a header, and no colour.
	for _, args := range [][]string{{"list"}, {"status"}, {"inventory", "prod"}, {"show", "prod"}, {"--help"}} {
		out, e, _ := run("", args...)
		if strings.ContainsRune(out+e, '\x1b') {
			t.Fatalf("%v: escape sequences when piped: %q", args, out+e)
		}
	}
	if out, _, _ = run("", "list"); !strings.HasPrefix(out, "prod\tGitLab\t") || strings.Count(out, "\n") != 1 {
		t.Fatalf("list piped: %q", out)
	}

	out, e, code = run(gitlabtest.DemoTokens.Admin+"\n", "reconnect", "prod", "--token-stdin", "--json")
	if code != 0 {
		t.Fatalf("reconnect: %d %s", code, e)
	}
	validate(t, "reconnect", out, "result", false)
	out, _, _ = run("", "version", "--json")
	validate(t, "version", out, "version", false)
	out, e, code = run("", "schedule", "prod", "6h", "--json")
	validate(t, "schedule", out, "connection", false)
	if code != 0 || !strings.Contains(out, `"sync_every": "6h"`) {
		t.Fatalf("schedule: %d %s %s", code, out, e)
	}
	out, e, code = run("", "remove", "prod", "--yes", "--json")
	if code != 0 {
		t.Fatalf("remove: %d %s", code, e)
	}
	validate(t, "remove", out, "removed", false)

	// Failures print {"error":…} on stdout too, with the exit code.
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"show", "prod", "--json"}, ExitNotFound},
		{[]string{"list", "--json", "--bogus"}, ExitUsage},
		{[]string{"inventory", "--json"}, ExitUsage},
	} {
		out, e, code := run("", c.args...)
		if code != c.code {
			t.Fatalf("%v: exit %d, want %d (%s)", c.args, code, c.code, e)
		}
		validate(t, strings.Join(c.args, " "), out, "error", false)
	}
}

// runner runs commands one after another in one isolated environment,
// each with a fresh App, returning stdout, stderr and the exit code.
func runner(t *testing.T) func(stdin string, args ...string) (string, string, int) {
	env := appEnv(t)
	return func(stdin string, args ...string) (string, string, int) {
		a, out, errb := appWith(env, stdin)
		code := Main(args, a)
		return out.String(), errb.String(), code
	}
}

// appEnv is an isolated environment (home, config, store), for several
// Apps in a row.
func appEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	return map[string]string{
		"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config"),
		"ONRAMP_STORE": filepath.Join(dir, "data", "onramp.db"), "ONRAMP_NO_KEYRING": "1",
	}
}

// appWith is an App on env with in-memory streams: commands run without a
// terminal.
func appWith(env map[string]string, stdin string) (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &App{IO: IO{In: strings.NewReader(stdin), Out: &out, Err: &errb}, Getenv: func(k string) string { return env[k] }}, &out, &errb
}

// GitHub's connection, sync and inventory print the same shapes.
func TestGitHubJSONMatchesTheSchema(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 150})
	defer srv.Close()
	run := runner(t)
	out, e, code := run(githubtest.DemoTokens.FineGrained+"\n", "connect", "github", "--url", srv.BaseURL, "--token-stdin", "--json")
	if code != 0 {
		t.Fatalf("connect: %d %s", code, e)
	}
	validate(t, "connect github", out, "result", false)
	if !strings.Contains(out, `"vendor": "github"`) {
		t.Fatal(out)
	}
	if _, e, code = run("", "sync", "127.0.0.1-"+strings.Split(srv.BaseURL, ":")[2], "--json"); code != 0 {
		t.Fatalf("sync: %d %s", code, e)
	}
	out, _, _ = run("", "inventory", "127.0.0.1-"+strings.Split(srv.BaseURL, ":")[2], "--json")
	validate(t, "inventory github", out, "inventory", false)
	if !strings.Contains(out, `"view":"org"`) || !strings.Contains(out, `"plan":"Copilot Business"`) {
		t.Fatalf("inventory: %.300s", out)
	}
}

// Text planted in a shared store (an alias, a run's note) reaches no
// terminal raw: completion leaves it out, --json escapes what a terminal
// acts on.
func TestPlantedTextNeverReachesATerminalRaw(t *testing.T) {
	env := appEnv(t)
	st, err := store.Open(context.Background(), store.Options{Path: env["ONRAMP_STORE"], ConfigDir: filepath.Join(env["XDG_CONFIG_HOME"], "onramp")})
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Connection{Vendor: "gitlab", Alias: "prod", BaseURL: "https://gitlab.example.com", AuthMethod: store.AuthToken}
	c.SetSecret(store.SecretToken, "glpat-planted-0123456789abcdef")
	if err := st.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", env["ONRAMP_STORE"])
	if err != nil {
		t.Fatal(err)
	}
	const planted = "evil\x1b]52;c;aGk=\x07\u009b2J\u202eexe.txt\u0085"
	if _, err := raw.Exec(`UPDATE connections SET alias = ?`, planted); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO sync_runs (connection_id, status, started_at, note, error, gen) VALUES (?, 'failed', '2026-12-04T10:00:00Z', ?, ?, 1)`,
		c.ID, planted, planted); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	run := func(args ...string) string {
		a, out, errb := appWith(env, "")
		Main(args, a)
		return out.String() + errb.String()
	}
	for _, args := range [][]string{{"__complete", "show", ""}, {"list", "--json"}, {"status", "--json"}, {"show", "prod", "--json"}} {
		out := run(args...)
		for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\u0085"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v printed %q raw:\n%q", args, bad, out)
			}
		}
	}
	if out := run("list", "--json"); !strings.Contains(out, `\u009b2J\u202eexe.txt`) {
		t.Errorf("the alias is not escaped as JSON: %s", out)
	}
}

// Issue 21, item 7: each kind of failure has its own --json code, from the
// vendor's typed error, and the schema knows it.
func TestJSONErrorCodesByKind(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	run := runner(t)
	for token, want := range map[string]string{
		gitlabtest.DemoTokens.Expired:   "credential_expired",
		gitlabtest.DemoTokens.Revoked:   "credential_revoked",
		gitlabtest.DemoTokens.FewScopes: "insufficient_scope",
	} {
		out, e, code := run(token+"\n", "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "x", "--json")
		if code != ExitFailure || !strings.Contains(out, `"code": "`+want+`"`) {
			t.Errorf("%s: exit %d: %s %s", want, code, out, e)
		}
		validate(t, want, out, "error", false)
	}
}

// Issue 21, item 7: piped, an inventory's unknown fields are empty (the
// tab-separated convention), never "?".
func TestPipedInventoryLeavesUnknownFieldsEmpty(t *testing.T) {
	srv := githubtest.Start(githubtest.Options{Members: 40})
	defer srv.Close()
	run := runner(t)
	if _, e, code := run(githubtest.DemoTokens.Classic+"\n", "connect", "github", "--url", srv.BaseURL, "--token-stdin", "--alias", "gh"); code != 0 {
		t.Fatalf("connect: %d %s", code, e)
	}
	if _, e, code := run("", "sync", "gh"); code != 0 {
		t.Fatalf("sync: %d %s", code, e)
	}
	out, e, code := run("", "inventory", "gh")
	if code != 0 || out == "" {
		t.Fatalf("inventory: %d %s", code, e)
	}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 9 || slices.Contains(fields, "?") {
			t.Fatalf("line %q", line)
		}
	}
}

// Issue 21, item 8: with no token flag, the token comes from the variable
// the vendor's own CLI reads (GITLAB_TOKEN), said but never shown.
func TestConnectTakesTheTokenFromTheVendorsVariable(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{}).Start()
	defer srv.Close()
	env := appEnv(t)
	env["GITLAB_TOKEN"] = gitlabtest.DemoTokens.Admin
	a, out, errb := appWith(env, "")
	if code := Main([]string{"connect", "gitlab", "--url", srv.BaseURL, "--alias", "prod"}, a); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(errb.String(), "Using the token in GITLAB_TOKEN.") || strings.Contains(out.String()+errb.String(), gitlabtest.DemoTokens.Admin) {
		t.Fatalf("stderr %s", errb)
	}
	a, _, errb = appWith(appEnv(t), "")
	if code := Main([]string{"connect", "gitlab", "--url", srv.BaseURL}, a); code != ExitUsage || !strings.Contains(errb.String(), "--token-stdin, --token-file or GITLAB_TOKEN") {
		t.Fatalf("no token: exit %d: %s", code, errb)
	}
}

// Issue 21, item 8: the filters an auditor asks for, a limit, and CSV that
// a spreadsheet cannot run as formulas.
func TestInventoryFiltersAndCSV(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{Users: 300}).Start()
	defer srv.Close()
	run := runner(t)
	if _, e, code := run(gitlabtest.DemoTokens.Admin+"\n", "connect", "gitlab", "--url", srv.BaseURL, "--token-stdin", "--alias", "prod"); code != 0 {
		t.Fatalf("connect: %s", e)
	}
	if _, e, code := run("", "sync", "prod"); code != 0 {
		t.Fatalf("sync: %s", e)
	}
	rows := func(args ...string) [][]string {
		out, e, code := run("", append([]string{"inventory", "prod", "--csv"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, e)
		}
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(recs) == 0 || recs[0][0] != "id" {
			t.Fatalf("%v: not CSV with a header: %v %q", args, err, out)
		}
		return recs[1:]
	}
	all := rows()
	admins := rows("--admins")
	if len(admins) == 0 || len(admins) >= len(all) {
		t.Fatalf("%d admins of %d", len(admins), len(all))
	}
	for _, r := range admins {
		if r[7] != "yes" {
			t.Fatalf("not an admin: %v", r)
		}
	}
	if seats := rows("--seats"); len(seats) == 0 || len(seats) >= len(all) {
		t.Fatalf("%d holding seats of %d", len(seats), len(all))
	}
	inactive := rows("--inactive", "90d")
	if len(inactive) >= len(all) {
		t.Fatalf("%d inactive of %d", len(inactive), len(all))
	}
	if got := rows("--limit", "5"); len(got) != 5 {
		t.Fatalf("--limit 5: %d", len(got))
	}
	out, _, _ := run("", "inventory", "prod", "--json", "--limit", "3")
	validate(t, "inventory --limit", out, "inventory", false)
	if _, e, code := run("", "inventory", "prod", "--inactive", "soon"); code != ExitUsage || !strings.Contains(e, "90d") {
		t.Fatalf("--inactive soon: %d %s", code, e)
	}

	var b strings.Builder
	writeInventoryCSV(&b, func(fn func(store.InventoryUser) error) error {
		return fn(store.InventoryUser{ID: "1", Username: "=HYPERLINK(\"http://evil\")", Name: "+1", Email: "@x", State: "-"})
	})
	if !strings.Contains(b.String(), `'=HYPERLINK`) || !strings.Contains(b.String(), ",'+1,'@x,'-,") {
		t.Fatalf("formulas left live:\n%s", b.String())
	}
}
