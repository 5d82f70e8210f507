package flows

import (
	"context"
	"testing"
	"time"

	"github.com/onramp-dev/onramp/catalog"
	"github.com/onramp-dev/onramp/store"
)

// Issue 14: the sequence is the flow's. Its alias step comes only when the
// store holds a connection of the vendor (or the person asks), never on a
// reconnect; Back retraces the way taken.
func TestSequence(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	c := NewConnect(Deps{Catalog: catalog.Default(), Store: st})
	if c.Next(StepVendor, AliasPlan{}) != StepMethod || c.Next(StepMethod, AliasPlan{}) != StepFields {
		t.Fatal("vendor → method → fields")
	}
	c.ChooseVendor("gitlab")
	c.ChooseMethod(store.AuthToken)
	c.SetValue(FieldURL, "https://gitlab.example.com")
	plan, err := c.AliasCheck().Run(ctx, time.Now())
	if err != nil || plan.Needed || plan.Default != "gitlab.example.com" {
		t.Fatalf("empty store: %+v %v", plan, err)
	}
	if c.Next(StepFields, plan) != StepAuthorize || c.Back(StepAuthorize) != StepFields || c.Back(StepFields) != StepMethod || c.Back(StepMethod) != StepVendor {
		t.Fatal("no alias step on an empty store")
	}

	first := &store.Connection{Vendor: "gitlab", Alias: "gitlab.example.com", BaseURL: "https://gitlab.example.com", AuthMethod: store.AuthToken}
	first.SetSecret(store.SecretToken, "x")
	if err := st.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	plan, _ = c.AliasCheck().Run(ctx, time.Now())
	if !plan.Needed || !plan.Taken || plan.Default != "gitlab.example.com-2" || len(plan.Existing) != 1 || plan.Existing[0].Alias != "gitlab.example.com" {
		t.Fatalf("second connection: %+v", plan)
	}
	if c.Next(StepFields, plan) != StepAlias || c.Next(StepAlias, plan) != StepAuthorize || c.Back(StepAuthorize) != StepAlias || c.Back(StepAlias) != StepFields {
		t.Fatal("alias step")
	}
	gh := NewConnect(Deps{Catalog: catalog.Default(), Store: st})
	gh.ChooseVendor("github")
	gh.WantAlias = true // asked for by the person, with no other GitHub connection
	if plan, _ := gh.AliasCheck().Run(ctx, time.Now()); !plan.Needed || plan.Taken || gh.Next(StepFields, plan) != StepAlias {
		t.Fatalf("asked-for alias: %+v", plan)
	}

	stored, _ := st.Get(ctx, first.ID)
	r := NewConnect(Deps{Catalog: catalog.Default(), Store: st})
	if err := r.Reconnect(stored); err != nil {
		t.Fatal(err)
	}
	plan, _ = r.AliasCheck().Run(ctx, time.Now())
	if r.Next(StepFields, plan) != StepAuthorize || r.Alias != "gitlab.example.com" || r.Back(StepMethod) != StepDone {
		t.Fatal("a reconnect keeps its alias and backs out of its first step")
	}
}
