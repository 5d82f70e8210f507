package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/onramp-dev/onramp/model"
	"testing"
	"time"
)

func users(ids ...int64) []InventoryUser {
	var out []InventoryUser
	for _, id := range ids {
		seat := id%2 == 0
		out = append(out, InventoryUser{ID: model.IDOf(id), Username: fmt.Sprintf("u%d", id), State: "active", Seat: &seat})
	}
	return out
}

func TestSyncRunsAndSnapshots(t *testing.T) { forEachBackend(t, testSyncRunsAndSnapshots) }

func testSyncRunsAndSnapshots(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)

	run, resumed, err := s.BeginRun(ctx, c.ID)
	if err != nil || resumed || run.Status != RunRunning {
		t.Fatalf("begin: %+v %v %v", run, resumed, err)
	}
	total := 5
	run, err = s.SavePage(ctx, run.ID, PageUpdate{Users: users(1, 2, 3), Checkpoint: "page2", Total: &total, View: "admin", Gen: run.Gen})
	if err != nil || run.Users != 3 || run.Pages != 1 || run.Checkpoint != "page2" || *run.Total != 5 {
		t.Fatalf("page 1: %+v %v", run, err)
	}
	// Interrupted: the next begin resumes the same run from its checkpoint.
	s.FinishRun(ctx, run.ID, run.Gen, RunStopped, "")
	again, resumed, _ := s.BeginRun(ctx, c.ID)
	if !resumed || again.ID != run.ID || again.Checkpoint != "page2" {
		t.Fatalf("resume: %+v %v", again, resumed)
	}
	// A page delivered twice (crash between fetch and save) adds nobody twice.
	run, _ = s.SavePage(ctx, run.ID, PageUpdate{Users: users(3, 4, 5), Checkpoint: "", Gen: again.Gen, From: again.Checkpoint})
	if run.Users != 5 {
		t.Fatalf("users %d, want 5", run.Users)
	}
	s.SaveSeats(ctx, run.ID, run.Gen, []Seats{{Scope: "license", Plan: "ultimate", Seats: &total, Used: &total}})
	done, _ := s.FinishRun(ctx, run.ID, run.Gen, RunSucceeded, "")
	if done.FinishedAt == nil || done.Status != RunSucceeded {
		t.Fatalf("finish: %+v", done)
	}
	var got []ID
	s.Users(ctx, run.ID, func(u InventoryUser) error { got = append(got, u.ID); return nil })
	if fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("snapshot %v", got)
	}
	seats, _ := s.Seats(ctx, run.ID)
	if len(seats) != 1 || *seats[0].Used != 5 {
		t.Fatalf("seats %+v", seats)
	}
	latest, _ := s.LatestRunsOf(ctx, []string{c.ID})
	if latest[c.ID].ID != run.ID {
		t.Fatalf("latest %+v", latest)
	}
	// Old snapshots are pruned; deleting the connection deletes its runs.
	for range 8 {
		r, _, _ := s.BeginRun(ctx, c.ID)
		s.SavePage(ctx, r.ID, PageUpdate{Users: users(1), Gen: r.Gen})
		s.FinishRun(ctx, r.ID, r.Gen, RunSucceeded, "")
	}
	if runs, _ := s.Runs(ctx, c.ID, 100); len(runs) != keepSnapshots+2 {
		t.Fatalf("kept %d runs", len(runs))
	}
	s.Delete(ctx, c.ID)
	var n int
	s.db.QueryRow(`SELECT count(*) FROM inventory_users`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d inventory rows outlived their connection", n)
	}
	if _, _, err := s.BeginRun(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("run for a deleted connection: %v", err)
	}
}

// orphans counts inventory rows whose run is gone.
func orphans(t *testing.T, s *sqlStore) int {
	t.Helper()
	var n int
	if err := s.queryRow(context.Background(), s.db, `SELECT count(*) FROM inventory_users WHERE run_id NOT IN (SELECT id FROM sync_runs)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Inventory rows never outlive their run: deleting a connection, pruning
// old snapshots, and a delete racing pages being saved leave none behind
// (PostgreSQL checks the run in SavePage instead of by a foreign key).
func TestInventoryRowsGoWithTheirRun(t *testing.T) {
	forEachBackend(t, testInventoryRowsGoWithTheirRun)
}

func testInventoryRowsGoWithTheirRun(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	users := func(from int) []InventoryUser {
		out := make([]InventoryUser, 50)
		for i := range out {
			out[i] = InventoryUser{ID: model.IDOf(int64(from + i)), Username: fmt.Sprint("u", from+i)}
		}
		return out
	}
	c := sample("pruned")
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	for range keepSnapshots + 5 {
		run, _, err := s.BeginRun(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SavePage(ctx, run.ID, PageUpdate{Users: users(0), Checkpoint: "1", Gen: run.Gen}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishRun(ctx, run.ID, run.Gen, RunSucceeded, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := orphans(t, s); n != 0 {
		t.Fatalf("pruning left %d rows", n)
	}
	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	s.queryRow(ctx, s.db, `SELECT count(*) FROM inventory_users`).Scan(&left)
	if left != 0 {
		t.Fatalf("deleting the connection left %d rows", left)
	}

	// Pages saved while the connection is deleted.
	for i := range 10 {
		c := sample(fmt.Sprint("race", i))
		if err := s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		run, _, err := s.BeginRun(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for p := 0; ; p++ {
				if _, err := s.SavePage(ctx, run.ID, PageUpdate{Users: users(p * 50), Checkpoint: fmt.Sprint(p), Gen: run.Gen, From: pageFrom(p)}); err != nil {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("save after delete: %v", err)
					}
					return
				}
			}
		}()
		time.Sleep(time.Duration(i) * time.Millisecond)
		if err := s.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	if n := orphans(t, s); n != 0 {
		t.Fatalf("%d rows outlived their run", n)
	}
}

// pageFrom is the checkpoint page p of a test's numbered pages begins at.
func pageFrom(p int) string {
	if p == 0 {
		return ""
	}
	return fmt.Sprint(p - 1)
}

// A page larger than SQLite's parameter limit allows in one statement
// (2,730 users) is saved whole.
func TestLargePageIsSaved(t *testing.T) { forEachBackend(t, testLargePageIsSaved) }

func testLargePageIsSaved(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("big")
	s.Create(ctx, c)
	run, _, _ := s.BeginRun(ctx, c.ID)
	ids := make([]int64, 5000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	saved, err := s.SavePage(ctx, run.ID, PageUpdate{Users: users(ids...), Checkpoint: "next", Gen: run.Gen})
	if err != nil || saved.Users != 5000 {
		t.Fatalf("a page of 5,000: %+v %v", saved, err)
	}
}

// PostgreSQL: the server ends the store's connections (a restart, an
// administrator) between pages: the next page is saved on a new connection
// within the same attempt, once.
func TestPageSaveSurvivesALostConnection(t *testing.T) {
	ctx := context.Background()
	opts := pgOpts(t)
	s := mustOpen(t, opts)
	c := sample("prod")
	s.Create(ctx, c)
	run, _, _ := s.BeginRun(ctx, c.ID)
	run, err := s.SavePage(ctx, run.ID, PageUpdate{Users: users(1, 2), Checkpoint: "1", Gen: run.Gen})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// Hold the run, so the page's statement waits for it; end that
	// statement's connection while it waits.
	lock, err := admin.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, `SELECT id FROM sync_runs WHERE id = $1 FOR UPDATE`, run.ID); err != nil {
		t.Fatal(err)
	}
	type saved struct {
		run *SyncRun
		err error
	}
	done := make(chan saved, 1)
	go func() {
		r, err := s.SavePage(ctx, run.ID, PageUpdate{Users: users(3, 4), Checkpoint: "2", Gen: run.Gen, From: run.Checkpoint})
		done <- saved{r, err}
	}()
	ended := false
	for deadline := time.Now().Add(10 * time.Second); !ended && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&ended)
	}
	lock.Rollback()
	if !ended {
		t.Fatal("the page's statement never waited")
	}
	got := <-done
	if got.err != nil || got.run.Users != 4 || got.run.Pages != 2 || got.run.Checkpoint != "2" {
		t.Fatalf("after its connection was ended mid-statement: %+v %v", got.run, got.err)
	}
}

func TestStringIDs(t *testing.T) { forEachBackend(t, testStringIDs) }

// A vendor's ids may be GUIDs: an account's and people's ids are kept as
// given, numeric ones in number order, the others after them; a page saved
// twice (a crash between) still adds nobody twice.
func testStringIDs(t *testing.T, opts Options) {
	ctx := context.Background()
	s := mustOpen(t, opts)
	c := sample("entra")
	c.Account.ID = "5f2b9c1e-8d3a-4b7e-9c21-0a6f4e8d2b13"
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, c.ID); got.Account.ID != c.Account.ID {
		t.Fatalf("account id %q", got.Account.ID)
	}
	run, _, err := s.BeginRun(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := []InventoryUser{{ID: "b7c1-guid", Username: "b"}, {ID: "10", Username: "ten"}, {ID: "9", Username: "nine"}, {ID: "a0f3-guid", Username: "a"}}
	for range 2 {
		if run, err = s.SavePage(ctx, run.ID, PageUpdate{Users: page, Checkpoint: checkpointAfter(run), Gen: run.Gen, From: run.Checkpoint}); err != nil {
			t.Fatal(err)
		}
	}
	var got []ID
	s.Users(ctx, run.ID, func(u InventoryUser) error { got = append(got, u.ID); return nil })
	if fmt.Sprint(got) != "[9 10 a0f3-guid b7c1-guid]" {
		t.Fatalf("users %v", got)
	}
}

func checkpointAfter(r *SyncRun) string { return fmt.Sprint("page", r.Pages+1) }
