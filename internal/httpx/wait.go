package httpx

import (
	"strconv"
	"strings"
	"time"
)

// MaxServerWait is the longest wait onramp accepts from a server (a
// Retry-After, a rate limit's reset): a longer one is a server fault,
// counted as a failed attempt with the server's words, not a snooze.
const MaxServerWait = 24 * time.Hour

// RetryAfter reads a Retry-After given in seconds. Values past
// MaxServerWait come back as just over it (never overflowing into a
// negative wait); ok is false when there is none to read.
func RetryAfter(v string) (wait time.Duration, ok bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || s < 0 {
		return 0, false
	}
	if s > int64(MaxServerWait/time.Second) {
		return MaxServerWait + time.Second, true
	}
	return time.Duration(s) * time.Second, true
}

// Until is the wait until a Unix time in seconds (a rate limit's reset),
// bounded like RetryAfter; ok is false when there is none to read.
func Until(unix string, now time.Time) (wait time.Duration, ok bool) {
	s, err := strconv.ParseInt(strings.TrimSpace(unix), 10, 64)
	if err != nil {
		return 0, false
	}
	if s > now.Unix()+int64(MaxServerWait/time.Second) {
		return MaxServerWait + time.Second, true
	}
	return max(time.Unix(s, 0).Sub(now), 0), true
}
