// Package humanize says dates and durations the way people read them.
package humanize

import (
	"fmt"
	"strings"
	"time"
)

// Days says when something N days away falls: "in 3 days", "today",
// "2 days ago".
func Days(days int) string {
	switch {
	case days < -1:
		return fmt.Sprintf("%d days ago", -days)
	case days == -1:
		return "1 day ago"
	case days == 0:
		return "today"
	case days == 1:
		return "in 1 day"
	}
	return fmt.Sprintf("in %d days", days)
}

// Ago says how long ago t was: "just now", "5 minutes ago".
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return Count(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return Count(int(d.Hours()), "hour") + " ago"
	}
	return Count(int(d.Hours()/24), "day") + " ago"
}

// Count says "1 page", "3 pages", "2 retries".
func Count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	if len(unit) > 1 && unit[len(unit)-1] == 'y' && !strings.ContainsRune("aeiou", rune(unit[len(unit)-2])) {
		return fmt.Sprintf("%d %sies", n, unit[:len(unit)-1])
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Lifetime says how long a span lasts: "2 days", "2 hours", "90 minutes",
// "45 seconds" (hours only when whole).
func Lifetime(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return Count(int(d.Hours()/24), "day")
	case d >= time.Hour && d%time.Hour < time.Minute:
		return Count(int(d.Hours()), "hour")
	case d >= time.Minute:
		return Count(int(d.Minutes()), "minute")
	}
	return Count(int(d.Seconds()), "second")
}
