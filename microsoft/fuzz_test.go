package microsoft

import (
	"cmp"
	"encoding/json"
	"slices"
	"testing"
)

// A page of users as any server may send it decodes without a panic into
// people who keep their id, whose licenses are named where the tenant's
// subscriptions name them, and whose seat says whether they hold any.
func FuzzUsersPage(f *testing.F) {
	f.Add([]byte(`{"@odata.count":2,"value":[{"id":"5a0d-1","userPrincipalName":"a@x","accountEnabled":false,"userType":"Guest",` +
		`"assignedLicenses":[{"skuId":"e3"},{"skuId":"zz"}],"signInActivity":{"lastSignInDateTime":"2025-01-01T00:00:00Z"}},{"id":"5a0d-2","mail":null}],` +
		`"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`))
	f.Add([]byte(`{"value":[{"id":"","assignedLicenses":null,"signInActivity":null}]}`))
	names := map[string]string{"e3": "ENTERPRISEPACK"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p usersPage
		if json.Unmarshal(body, &p) != nil {
			return
		}
		for _, u := range p.Value {
			got := inventoryUser(u, names)
			if string(got.ID) != u.ID || got.Seat == nil || *got.Seat != (len(u.AssignedLicenses) > 0) || len(got.Licenses) != len(u.AssignedLicenses) {
				t.Fatalf("%+v from %+v", got, u)
			}
			for _, l := range u.AssignedLicenses {
				if want := cmp.Or(names[l.SkuID], l.SkuID); !slices.Contains(got.Licenses, want) {
					t.Fatalf("license %q lost: %v", want, got.Licenses)
				}
			}
		}
	})
}
