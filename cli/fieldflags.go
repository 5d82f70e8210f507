package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/onramp-dev/onramp/flows"
)

// fieldFlags are the flags a card's own fields get (--KEY, with - for _),
// so a vendor's form is scriptable without the command line knowing the
// vendor; and --KEY-out PATH for what onramp generates, where the part to
// take to the vendor is written.
type fieldFlags struct {
	values map[string]*string // field key → flag value
	outs   map[string]*string // generated field key → path
}

// handled are the fields connect has flags of its own for.
var handled = []string{flows.FieldURL, flows.FieldToken, flows.FieldCAFile, flows.FieldClientID, flows.FieldClientSecret, flows.FieldScopes}

func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// registerFieldFlags adds a flag for every field of the catalog's cards
// that connect has none for; outs adds the --KEY-out flags of generated
// fields (connect writes them; a reconnect keeps what was generated).
func registerFieldFlags(f *pflag.FlagSet, cat flows.Catalog, outs bool) fieldFlags {
	ff := fieldFlags{values: map[string]*string{}, outs: map[string]*string{}}
	for _, v := range cat {
		for _, m := range v.Methods {
			for _, fl := range m.Fields {
				switch {
				case slices.Contains(handled, fl.Key):
				case fl.Generate != nil:
					if outs && ff.outs[fl.Key] == nil {
						ff.outs[fl.Key] = f.String(flagName(fl.Key)+"-out", "", fmt.Sprintf("%s, %s method: the file to write the %s to upload to", v.Name, m.Name, strings.ToLower(fl.Label)))
					}
				case fl.Generate == nil && !fl.Secret && ff.values[fl.Key] == nil:
					usage := fmt.Sprintf("%s: %s", v.Name, fl.Label)
					if len(fl.Choices) > 0 {
						usage += ": " + strings.Join(fl.Choices, ", ")
					}
					if fl.Default != "" {
						usage += fmt.Sprintf(" (default %q)", fl.Default)
					}
					ff.values[fl.Key] = f.String(flagName(fl.Key), "", usage)
				}
			}
		}
	}
	return ff
}

// given is what was set, by flag name.
func (ff fieldFlags) given() map[string]string {
	var out map[string]string
	add := func(name, v string) {
		if v == "" {
			return
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = v
	}
	for k, v := range ff.values {
		add(flagName(k), *v)
	}
	for k, v := range ff.outs {
		add(flagName(k)+"-out", *v)
	}
	return out
}

// apply sets the values given by flag on the flow's visible fields; a flag
// of a field the method does not have is refused.
func (ff fieldFlags) apply(flow *flows.Connect) error {
	for key, v := range ff.values {
		if *v == "" {
			continue
		}
		if flow.Method.Field(key) == nil {
			return usageErr("--%s is not a field of %s's %s method", flagName(key), flow.Vendor.Name, flow.Method.Name)
		}
		if err := flow.SetValue(key, *v); err != nil {
			return usageErr("--%s: %v", flagName(key), err)
		}
	}
	return nil
}

// generated is the method's field onramp generates, or nil.
func generated(m *flows.AuthMethod) *flows.Field {
	for i := range m.Fields {
		if m.Fields[i].Generate != nil {
			return &m.Fields[i]
		}
	}
	return nil
}

// outPath is where a generated field's public part goes; "" when no flag
// said.
func (ff fieldFlags) outPath(key string) string {
	if p := ff.outs[key]; p != nil {
		return *p
	}
	return ""
}

// writePublic writes what the person takes to the vendor (a certificate)
// to the file its flag names, and says what to do with it.
func (a *App) writePublic(flow *flows.Connect, ff fieldFlags) error {
	g := generated(flow.Method)
	if g == nil {
		return nil
	}
	c := flow.Copy()
	path := ff.outPath(g.Key)
	if c == nil || path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(c.Value), 0o644); err != nil {
		return fmt.Errorf("--%s-out: %w", flagName(g.Key), err)
	}
	fmt.Fprintf(a.Err, "%s written to %s (%s).\n", c.Label, path, c.Short)
	return nil
}

// pendingPoll is how often a verification that waits on someone else is
// tried again.
var pendingPoll = 5 * time.Second

// authorizeWaiting verifies the credential; while it waits on someone
// else (a certificate not uploaded yet, an administrator's consent) it
// says what, and where, and tries again until wait has passed.
func (a *App) authorizeWaiting(flow *flows.Connect, wait time.Duration, quiet bool) (*flows.Verification, error) {
	deadline := time.Now().Add(wait)
	told := ""
	for {
		v, err := flow.Authorize(context.Background())
		if err == nil {
			return v, nil
		}
		var p flows.Pending
		var se *flows.StepError
		waiting := ""
		switch g := generated(flow.Method); {
		case errors.As(err, &p) && p.PendingAt() != "":
			waiting = "An administrator grants it at:\n  " + p.PendingAt()
		case g != nil && errors.As(err, &se) && se.Field == g.Key:
			waiting = "Upload it to the app (the file --" + flagName(g.Key) + "-out wrote)."
		}
		if waiting == "" || !time.Now().Add(pendingPoll).Before(deadline) {
			return nil, err
		}
		if said := err.Error() + waiting; said != told && !quiet {
			fmt.Fprintf(a.Err, "! %s\n  %s\nWaiting (up to %s; onramp looks again every %s) …\n", err, waiting, time.Until(deadline).Round(time.Second), pendingPoll)
			told = said
		}
		time.Sleep(pendingPoll)
	}
}
