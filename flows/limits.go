package flows

import (
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/onramp-dev/onramp/connector"
	"github.com/onramp-dev/onramp/store"
)

// Limits bound what a server can make one sync do. The defaults stand far
// above any real organization (the largest GitLab instances and GitHub
// enterprises have some hundreds of thousands of users); reaching one ends
// the sync with a LimitError. Memory stays bounded by the page (two pages
// in flight), not by the run.
type Limits struct {
	Pages   int           // pages in one run
	Users   int           // users in one run
	RunTime time.Duration // from the run's start, across its slices
	Bytes   int64         // read from the server in one slice
}

// DefaultLimits are the limits of a sync unless the Syncer sets others.
var DefaultLimits = Limits{Pages: 100_000, Users: 5_000_000, RunTime: 72 * time.Hour, Bytes: 20 << 30}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.Pages > 0 {
		d.Pages = l.Pages
	}
	if l.Users > 0 {
		d.Users = l.Users
	}
	if l.RunTime > 0 {
		d.RunTime = l.RunTime
	}
	if l.Bytes > 0 {
		d.Bytes = l.Bytes
	}
	return d
}

// check says which limit a run past its latest page has reached, if any.
func (l Limits) check(run *store.SyncRun, now time.Time) error {
	switch {
	case run.Pages >= l.Pages && run.Checkpoint != checkpointDone:
		return &connector.LimitError{What: fmt.Sprintf("%s pages in one sync", thousands(l.Pages))}
	case run.Users > l.Users:
		return &connector.LimitError{What: fmt.Sprintf("%s users in one sync", thousands(l.Users))}
	case now.Sub(run.StartedAt) > l.RunTime:
		return &connector.LimitError{What: fmt.Sprintf("%s for one sync", l.RunTime)}
	}
	return nil
}

// pageSeen remembers the checkpoints a run went through (as 8-byte hashes:
// bounded by the page limit): a server that sends a page it already sent is
// looping, not progressing.
type pageSeen map[uint64]bool

func (s pageSeen) again(checkpoint string) bool {
	h := fnv.New64a()
	io.WriteString(h, checkpoint)
	k := h.Sum64()
	if s[k] {
		return true
	}
	s[k] = true
	return false
}

// byteBudget counts what the server sends in one slice.
type byteBudget struct {
	next  http.RoundTripper
	limit int64
	used  atomic.Int64
}

func (b *byteBudget) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countedBody{ReadCloser: resp.Body, b: b}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	b *byteBudget
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.b.used.Add(int64(n))
	return n, err
}

// spent says when the slice has read more than its limit (checked between
// pages: a page is bounded by the vendor client's own answer limit).
func (b *byteBudget) spent() error {
	if b.used.Load() > b.limit {
		return &connector.LimitError{What: fmt.Sprintf("%s MiB read from the server in one sync", thousands(int(b.limit>>20)))}
	}
	return nil
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
