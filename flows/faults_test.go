package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/onramp-dev/onramp/github/githubtest"
	"github.com/onramp-dev/onramp/gitlab/gitlabtest"
	"github.com/onramp-dev/onramp/store"
)

// faultyStore fails the nth call of one of the store's methods the sync
// makes (1 for the first), and passes every other call through.
type faultyStore struct {
	SyncStore
	method string
	nth    int
	calls  map[string]int
}

var errInjected = errors.New("injected store failure")

func (f *faultyStore) fail(method string) error {
	f.calls[method]++
	if method == f.method && f.calls[method] == f.nth {
		return fmt.Errorf("%s: %w", method, errInjected)
	}
	return nil
}

func (f *faultyStore) Get(ctx context.Context, id string) (*store.Connection, error) {
	if err := f.fail("Get"); err != nil {
		return nil, err
	}
	return f.SyncStore.Get(ctx, id)
}

func (f *faultyStore) BeginRun(ctx context.Context, id string) (*store.SyncRun, bool, error) {
	if err := f.fail("BeginRun"); err != nil {
		return nil, false, err
	}
	return f.SyncStore.BeginRun(ctx, id)
}

func (f *faultyStore) SavePage(ctx context.Context, runID int64, p store.PageUpdate) (*store.SyncRun, error) {
	if err := f.fail("SavePage"); err != nil {
		return nil, err
	}
	return f.SyncStore.SavePage(ctx, runID, p)
}

func (f *faultyStore) SaveSeats(ctx context.Context, runID, gen int64, seats []store.Seats) error {
	if err := f.fail("SaveSeats"); err != nil {
		return err
	}
	return f.SyncStore.SaveSeats(ctx, runID, gen, seats)
}

func (f *faultyStore) FinishRun(ctx context.Context, runID, gen int64, status, errText string) (*store.SyncRun, error) {
	if err := f.fail("FinishRun"); err != nil {
		return nil, err
	}
	return f.SyncStore.FinishRun(ctx, runID, gen, status, errText)
}

func (f *faultyStore) FailRun(ctx context.Context, runID, gen int64, status, errText string) (*store.SyncRun, error) {
	if err := f.fail("FailRun"); err != nil {
		return nil, err
	}
	return f.SyncStore.FailRun(ctx, runID, gen, status, errText)
}

func (f *faultyStore) StopRequested(ctx context.Context, id string) (bool, error) {
	if err := f.fail("StopRequested"); err != nil {
		return false, err
	}
	return f.SyncStore.StopRequested(ctx, id)
}

func (f *faultyStore) Seats(ctx context.Context, runID int64) ([]store.Seats, error) {
	if err := f.fail("Seats"); err != nil {
		return nil, err
	}
	return f.SyncStore.Seats(ctx, runID)
}

func (f *faultyStore) Update(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	if err := f.fail("Update"); err != nil {
		return nil, err
	}
	return f.SyncStore.Update(ctx, id, fn)
}

// Every store call a sync makes, failing at its first, second and last use
// (GitLab's admin view, and GitHub's, whose Copilot note is the last
// write): the sync returns the error and never panics, and the next sync
// finishes exactly.
func TestSyncUnderStoreFaults(t *testing.T) {
	gl := newSyncEnv(t, gitlabtest.Options{Users: 450}, gitlabtest.DemoTokens.Admin, "")
	gh, srv := newGitHubEnv(t, githubtest.Options{Members: 250}, githubtest.DemoTokens.Classic)
	for name, c := range map[string]struct {
		e    *syncEnv
		want int
	}{"gitlab": {gl, len(gl.srv.Sandbox.People(0))}, "github": {gh, members(srv)}} {
		clean := &faultyStore{SyncStore: c.e.st, calls: map[string]int{}}
		if _, err := (&Syncer{Store: clean, Catalog: c.e.s.Catalog}).Sync(context.Background(), c.e.id, func(Progress) {}); err != nil {
			t.Fatal(err)
		}
		for method, last := range clean.calls {
			for _, nth := range slices.Compact([]int{1, min(2, last), last}) {
				t.Run(fmt.Sprintf("%s/%s#%d", name, method, nth), func(t *testing.T) {
					f := &faultyStore{SyncStore: c.e.st, method: method, nth: nth, calls: map[string]int{}}
					s := &Syncer{Store: f, Catalog: c.e.s.Catalog}
					func() {
						defer func() {
							if p := recover(); p != nil {
								t.Fatalf("panic: %v", p)
							}
						}()
						_, err := s.Sync(context.Background(), c.e.id, func(Progress) {})
						if method == "Seats" { // read only for the last progress event, after the run succeeded
							if err != nil {
								t.Fatalf("a succeeded run failed for its progress event: %v", err)
							}
						} else if !errors.Is(err, errInjected) {
							t.Fatalf("the injected failure was not returned: %v", err)
						}
					}()
					run, err := (&Syncer{Store: c.e.st, Catalog: c.e.s.Catalog}).Sync(context.Background(), c.e.id, nil)
					if err != nil || run.Status != store.RunSucceeded || run.Users != c.want {
						t.Fatalf("the next sync: %+v %v", run, err)
					}
				})
			}
		}
	}
}
