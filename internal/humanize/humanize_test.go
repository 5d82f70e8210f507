package humanize

import (
	"testing"
	"time"
)

func TestHumanize(t *testing.T) {
	for days, want := range map[int]string{-3: "3 days ago", -1: "1 day ago", 0: "today", 1: "in 1 day", 365: "in 365 days"} {
		if got := Days(days); got != want {
			t.Errorf("Days(%d) = %q", days, got)
		}
	}
	now := time.Now()
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", 5 * time.Minute: "5 minutes ago", time.Hour: "1 hour ago", 72 * time.Hour: "3 days ago"} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(%s) = %q", d, got)
		}
	}
	if Count(2, "retry") != "2 retries" || Count(1, "page") != "1 page" || Count(0, "page") != "0 pages" {
		t.Error("Count")
	}
}

func TestAt(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.Local)
	for at, want := range map[time.Time]string{
		now.Add(3 * time.Hour):        "13:00",
		now.Add(20 * time.Hour):       "Dec 5 06:00",
		now.Add(365 * 24 * time.Hour): "Dec 4 2027 10:00",
		now.Add(-26 * time.Hour):      "Dec 3 08:00",
	} {
		if got := At(at, now); got != want {
			t.Errorf("%s: %q, want %q", at, got, want)
		}
	}
}
