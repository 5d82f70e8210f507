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

// At says a moment near now: "14:05" today, "Mar 3 14:05" another day this
// year, "Mar 3 2027 14:05" in another year (a wait of a year never reads
// like a wait of minutes).
func At(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	switch {
	case t.YearDay() == now.YearDay() && t.Year() == now.Year():
		return t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("Jan 2 15:04")
	}
	return t.Format("Jan 2 2006 15:04")
}
