package httpx

import (
	"testing"
	"time"
)

func TestServerWaitsAreBounded(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"30": 30 * time.Second, "0": 0, "86400": MaxServerWait, "86401": MaxServerWait + time.Second,
		"31536000": MaxServerWait + time.Second, "9223372036854775807": MaxServerWait + time.Second,
	} {
		if got, ok := RetryAfter(v); !ok || got != want {
			t.Errorf("Retry-After %s: %s %v, want %s", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-5", "soon", "99999999999999999999999"} {
		if _, ok := RetryAfter(v); ok {
			t.Errorf("Retry-After %q read", v)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	if got, _ := Until("1800000060", now); got != time.Minute {
		t.Errorf("reset a minute away: %s", got)
	}
	if got, _ := Until("9223372036854775807", now); got != MaxServerWait+time.Second {
		t.Errorf("reset at the end of time: %s", got)
	}
	if got, _ := Until("1", now); got != 0 {
		t.Errorf("reset in the past: %s", got)
	}
}

// No Retry-After or reset, however written, gives a negative wait or one
// past the ceiling.
func FuzzServerWait(f *testing.F) {
	for _, v := range []string{"30", "0", "-1", "86401", "9223372036854775807", "99999999999999999999", " 5 ", "1e3", ""} {
		f.Add(v)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		for _, read := range []func(string) (time.Duration, bool){RetryAfter, func(v string) (time.Duration, bool) { return Until(v, now) }} {
			if w, ok := read(v); ok && (w < 0 || w > MaxServerWait+time.Second) {
				t.Fatalf("%q: %s", v, w)
			}
		}
	})
}
