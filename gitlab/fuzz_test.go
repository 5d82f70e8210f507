package gitlab

import "testing"

// Whatever a server sends as a page of users, or as its Link header, is
// decoded or refused, never a panic; every name is stored sanitized.
func FuzzUsersPage(f *testing.F) {
	f.Add([]byte(`[{"id":1,"username":"root","name":"Admin","state":"active","is_admin":true,"using_license_seat":true}]`), `<https://gitlab.example.com/api/v4/users?page=2>; rel="next"`, false)
	f.Add([]byte(`[{"id":-1,"username":"\u0000\u001b]52;c;aGk=\u0007\u009b\u202e"}]`), `<>; rel="next"`, true)
	f.Add([]byte(`{"message":"500 Internal Server Error"}`), `rel="next"`, false)
	f.Add([]byte(`[null,{},{"id":1e400}]`), `<a`, true)
	f.Add([]byte{0xff, 0xfe, '[', ']'}, "\x00", false)
	f.Fuzz(func(t *testing.T, body []byte, link string, saas bool) {
		p := &InventoryPage{raw: body, saas: saas}
		if err := p.Decode(); err == nil {
			for _, u := range p.Users {
				for _, s := range []string{u.Username, u.Name, u.Email, u.State} {
					for _, r := range s {
						if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x202e {
							t.Fatalf("raw control %U in %q", r, s)
						}
					}
				}
			}
		}
		linkNext(link)
	})
}
