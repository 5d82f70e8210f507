package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onramp-dev/onramp/store"
)

// The onboarding's order of steps is kept here, so the wizard and `onramp
// connect` walk the same one: vendor → method → fields → alias (when the
// store already holds a connection of the vendor, or the person asked to
// name it; never on a reconnect, which keeps its alias) → authorize → done.

// Step is a screen of the onboarding.
type Step int

const (
	StepVendor Step = iota
	StepMethod
	StepFields
	StepAlias
	StepAuthorize
	StepDone
)

func (s Step) String() string {
	return [...]string{"vendor", "method", "fields", "alias", "authorize", "done"}[s]
}

// AliasPlan is what the alias step depends on in the store.
type AliasPlan struct {
	// Taken: the store already holds a connection of this vendor, so this
	// one needs an alias to be told apart. Needed adds the person's asking.
	Taken, Needed bool
	// Default is the suggested alias, unique in the store.
	Default string
	// Existing are the vendor's connections, named on the alias page.
	Existing []Integration
}

// AliasCheck is the alias step's question to the store, taken from the
// flow so that it can be answered on another goroutine (the wizard keeps
// store calls off its UI goroutine) while the flow goes on changing.
type AliasCheck struct {
	st     store.Store
	cat    Catalog
	vendor *Vendor
	base   string // the connector's alias for the values typed
	want   bool
}

// AliasCheck captures what the alias step needs to ask the store.
func (c *Connect) AliasCheck() AliasCheck {
	return AliasCheck{st: c.deps.Store, cat: c.deps.Catalog, vendor: c.Vendor,
		base: c.Vendor.Connector.DefaultAlias(c.address, c.Values), want: c.WantAlias}
}

// Run reads the store: the vendor's connections and a free default alias.
func (q AliasCheck) Run(ctx context.Context, now time.Time) (AliasPlan, error) {
	if q.st == nil {
		return AliasPlan{}, errors.New("the credential store is not open")
	}
	conns, err := q.st.List(ctx, store.ListOptions{Vendor: q.vendor.ID})
	if err != nil {
		return AliasPlan{}, fmt.Errorf("read the store: %w", err)
	}
	plan := AliasPlan{Taken: len(conns) > 0, Default: uniqueAlias(ctx, q.st, q.vendor, q.base)}
	plan.Needed = plan.Taken || q.want
	for i := range conns {
		plan.Existing = append(plan.Existing, IntegrationOf(&conns[i], q.cat, now))
	}
	return plan, nil
}

// uniqueAlias is base, or base-2, base-3… whichever the store does not hold.
func uniqueAlias(ctx context.Context, st store.Store, vendor *Vendor, base string) string {
	alias := base
	for n := 2; n < 1000; n++ {
		if _, err := st.Find(ctx, vendor.ID, alias); errors.Is(err, store.ErrNotFound) {
			return alias
		}
		alias = fmt.Sprintf("%s-%d", base, n)
	}
	return alias
}

// Next is the step after from. At the fields it takes the alias plan (an
// AliasCheck's answer): without a need for an alias, the connection gets
// the default one when saved.
func (c *Connect) Next(from Step, plan AliasPlan) Step {
	switch from {
	case StepVendor:
		return StepMethod
	case StepMethod:
		return StepFields
	case StepFields:
		c.aliasShown = c.Reconnecting == nil && plan.Needed
		if c.aliasShown {
			return StepAlias
		}
		if c.Reconnecting == nil {
			c.Alias = ""
		}
		return StepAuthorize
	case StepAlias:
		return StepAuthorize
	}
	return StepDone
}

// Back is the step before from, along the way this run came. Backing out
// of a reconnect's first step ends the onboarding (StepDone).
func (c *Connect) Back(from Step) Step {
	switch from {
	case StepMethod:
		if c.Reconnecting != nil {
			return StepDone
		}
		return StepVendor
	case StepFields:
		return StepMethod
	case StepAlias:
		return StepFields
	case StepAuthorize:
		if c.aliasShown {
			return StepAlias
		}
		return StepFields
	}
	return StepVendor
}
