package flows

import "time"

// waitUntil polls ok for up to 30 s: for a goroutine that acts once
// something happened (the test's own wait then fails with what it saw).
func waitUntil(ok func() bool) {
	for deadline := time.Now().Add(30 * time.Second); !ok() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
