package model

import (
	"encoding/json"
	"testing"
	"time"
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

// A token of 90 days is 90 days whatever the hour it was issued: it ends
// at midnight UTC on its date.
func TestLifetimeDaysCountsCalendarDays(t *testing.T) {
	for _, issued := range []time.Time{
		time.Date(2026, 12, 5, 0, 1, 0, 0, time.UTC), time.Date(2026, 12, 5, 12, 5, 0, 0, time.UTC), time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC),
	} {
		expires := time.Date(2027, 3, 5, 0, 0, 0, 0, time.UTC) // 90 days after 2026-12-05
		if got := LifetimeDays(issued, expires); got != 90 {
			t.Errorf("issued %s: %d days", issued.Format("15:04"), got)
		}
	}
	if got := LifetimeDays(time.Now(), time.Now()); got != 1 {
		t.Errorf("same day: %d", got)
	}
}
