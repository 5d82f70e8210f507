package model

import (
	"encoding/json"
	"testing"
)

func TestIDInJSON(t *testing.T) {
	for _, tc := range []struct {
		id   ID
		json string
	}{
		{IDOf(42), `42`},
		{IDOf(-7), `-7`},
		{"5f2b9c1e-8d3a-4b7e-9c21-0a6f4e8d2b13", `"5f2b9c1e-8d3a-4b7e-9c21-0a6f4e8d2b13"`},
		{"007", `"007"`},
		{"", `""`},
	} {
		b, err := json.Marshal(tc.id)
		if err != nil || string(b) != tc.json {
			t.Errorf("%q: %s %v", tc.id, b, err)
		}
		var back ID
		if err := json.Unmarshal(b, &back); err != nil || back != tc.id {
			t.Errorf("%s read back as %q (%v)", b, back, err)
		}
	}
}
