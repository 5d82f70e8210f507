package connector

import (
	"testing"
	"time"
)

// Issue 21, item 10: days said as a person reads a date.
func TestDaysLeftCountsCalendarDays(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.Local)
	for at, want := range map[time.Time]int{
		now.Add(73 * time.Hour):  3,  // 3 days and an hour
		now.Add(20 * time.Hour):  1,  // tomorrow morning
		now.Add(-time.Hour):      0,  // an hour ago, today
		now.Add(-24 * time.Hour): -1, // yesterday
	} {
		if got := DaysLeft(at, now); got != want {
			t.Errorf("%s: %d, want %d", at, got, want)
		}
	}
}
