package cli

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite the golden help files")

// commandPaths lists every command as its argument path: "show", "store info".
func commandPaths(c *cobra.Command, prefix []string, out *[][]string) {
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		path := append(append([]string{}, prefix...), sub.Name())
		*out = append(*out, path)
		commandPaths(sub, path, out)
	}
}

// Issue 13: every command's --help is on stdout, exit 0, with a synopsis,
// a description (arguments included) and examples; golden files keep it
// from changing unnoticed (go test ./cli -run Help -update rewrites them).
func TestHelpGolden(t *testing.T) {
	paths := [][]string{{}}
	commandPaths(NewRoot(DocsApp()), nil, &paths)
	if len(paths) < 18 {
		t.Fatalf("only %d commands", len(paths))
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"onramp"}, path...), "_")
		a, out, errb := appWith(map[string]string{"HOME": "~"}, "")
		if code := Main(append(append([]string{}, path...), "--help"), a); code != ExitOK || errb.Len() > 0 {
			t.Fatalf("%s --help: exit %d, stderr %q", name, code, errb)
		}
		help := out.String()
		if !strings.Contains(help, "Usage:") {
			t.Errorf("%s: no synopsis", name)
		}
		if cmd, _, _ := NewRoot(DocsApp()).Find(path); cmd.Runnable() && !strings.HasPrefix(name, "onramp_completion") && cmd.Example == "" && cmd.Name() != "integrations" && cmd.Name() != "man" && cmd.Name() != "version" {
			t.Errorf("%s: no examples", name)
		}
		file := filepath.Join("testdata", "help", name+".txt")
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			os.WriteFile(file, []byte(help), 0o644)
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil || string(want) != help {
			t.Errorf("%s --help changed (go test ./cli -run HelpGolden -update):\n%s", name, help)
		}
	}
}

// Arguments that name what a command needs are in its usage line and help.
func TestHelpNamesArguments(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{
		{"show", "onramp show ALIAS [flags]"}, {"schedule", "EVERY   a period like 6h"}, {"connect", "VENDOR   the catalog's vendor id"},
	} {
		a, out, _ := appWith(map[string]string{}, "")
		Main([]string{c.cmd, "--help"}, a)
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s --help lacks %q", c.cmd, c.want)
		}
	}
}

// gh's runF seam: a command's flags and arguments parse into its options,
// and nothing runs (no store is opened, nothing is read).
func TestOptionsParsedWithoutRunning(t *testing.T) {
	cases := []struct {
		args []string
		want any
	}{
		{[]string{"remove", "prod", "-y", "--revoke", "--json"}, &removeOptions{Alias: "prod", Yes: true, Revoke: true, JSON: true}},
		{[]string{"rm", "gitlab/prod", "--force"}, &removeOptions{Alias: "gitlab/prod", Force: true}},
		{[]string{"show", "--json", "prod"}, &showOptions{Alias: "prod", JSON: true}},
		{[]string{"schedule", "prod", "6h"}, &scheduleOptions{Alias: "prod", Every: 6 * time.Hour}},
		{[]string{"schedule", "prod", "off"}, &scheduleOptions{Alias: "prod"}},
		{[]string{"schedule", "prod", "7d"}, &scheduleOptions{Alias: "prod", Every: 7 * 24 * time.Hour}},
		{[]string{"sync", "prod", "--stop"}, &syncOptions{Alias: "prod", Stop: true, Concurrency: 4}},
		{[]string{"sync", "--all", "--concurrency", "2"}, &syncOptions{All: true, Concurrency: 2}},
		{[]string{"status"}, &statusOptions{}},
		{[]string{"worker", "--concurrency=8", "--slice", "5m"}, &workerOptions{Concurrency: 8, RescueAfter: time.Hour, Slice: 5 * time.Minute, Lease: 15 * time.Second}},
		{[]string{"connect", "gitlab", "--url", "gitlab.example.com", "--token-file", "t", "--alias", "a"},
			&connectOptions{Vendor: "gitlab", URL: "gitlab.example.com", TokenFile: "t", Alias: "a", Wait: 15 * time.Minute}},
		{[]string{"connect", "microsoft", "--tenant", "contoso.onmicrosoft.com", "--client-id", "ID", "--auth", "certificate", "--certificate-out", "c.pem", "--wait", "1m"},
			&connectOptions{Vendor: "microsoft", Auth: "certificate", ClientID: "ID", Wait: time.Minute,
				given: map[string]string{"tenant": "contoso.onmicrosoft.com", "certificate-out": "c.pem"}}},
		{[]string{"demo", "--users", "10"}, &demoOptions{Users: 10, Latency: 40 * time.Millisecond}},
	}
	for _, c := range cases {
		a, _, errb := appWith(map[string]string{}, "")
		var got any
		a.RunF = func(_ *cobra.Command, opts any) error { got = opts; return nil }
		if code := Main(c.args, a); code != ExitOK {
			t.Fatalf("%v: exit %d: %s", c.args, code, errb)
		}
		if co, ok := got.(*connectOptions); ok { // the card's own fields, by flag name
			co.given, co.fields = co.fields.given(), fieldFlags{}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: parsed %+v, want %+v", c.args, got, c.want)
		}
	}
	a, _, _ := appWith(map[string]string{}, "")
	var serve *serveOptions
	a.RunF = func(_ *cobra.Command, opts any) error { serve = opts.(*serveOptions); return nil }
	Main([]string{"serve", "--allow-host", "a.example", "--allow-host", "*.b.example", "--listen", ":2222"}, a)
	if serve == nil || !reflect.DeepEqual(serve.Allow, []string{"a.example", "*.b.example"}) || serve.Listen != ":2222" {
		t.Fatalf("serve: %+v", serve)
	}
}

// Issue 21, item 7: the man page's header has the manual's name where man
// puts it (not the description), and its synopsis names every command.
func TestManPageHeaderAndSynopsis(t *testing.T) {
	a, _, _ := app(t, "")
	page, err := ManPage(NewRoot(a))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(page, `.TH ONRAMP 1 "" "onramp `) || !strings.Contains(strings.SplitN(page, "\n", 2)[0], `"onramp manual"`) {
		t.Fatalf("header %q", strings.SplitN(page, "\n", 2)[0])
	}
	for _, want := range []string{`\fBonramp sync\fP {ALIAS | \-\-all}`, `\fBonramp store copy\fP`, `\fBonramp schedule\fP ALIAS EVERY`} {
		if !strings.Contains(page, want) {
			t.Errorf("synopsis lacks %q", want)
		}
	}
}
