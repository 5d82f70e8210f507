package store

import (
	"context"
	"fmt"
	"github.com/onramp-dev/onramp/model"
	"sync/atomic"
	"testing"
	"time"
)

// benchStore holds 10,000 connections (one per run: made once, reused).
func benchStore(b *testing.B, opts Options) (Options, []string) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := make([]string, 0, 10000)
	for i := range 10000 {
		c := sample(fmt.Sprintf("conn-%05d", i))
		if err := s.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return opts, ids
}

// forEachBackendB runs a benchmark on both databases, side by side.
func forEachBackendB(b *testing.B, bench func(b *testing.B, opts Options)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, testOpts(b)) })
	b.Run("postgres", func(b *testing.B) { bench(b, pgOpts(b)) })
}

func BenchmarkStore10k(b *testing.B) { forEachBackendB(b, benchStore10k) }

func benchStore10k(b *testing.B, opts Options) {
	ctx := context.Background()
	opts, ids := benchStore(b, opts)
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := Open(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	s, _ := Open(ctx, opts)
	defer s.Close()
	b.Run("first-page", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if l, err := s.List(ctx, ListOptions{Limit: 50}); err != nil || len(l) != 50 {
				b.Fatal(err)
			}
		}
	})
	b.Run("list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if l, err := s.List(ctx, ListOptions{}); err != nil || len(l) != 10000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Get(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("find", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Find(ctx, "gitlab", fmt.Sprintf("conn-%05d", i%10000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("update", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, err := s.Update(ctx, ids[i%len(ids)], func(c *Connection) error {
				c.SetSecret(SecretAccessToken, Secret(fmt.Sprintf("access-%d-0123456789abcdef", i)))
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkSyncJobOverhead is River's own cost per sync job on the SQLite
// store, the work itself left out: insert (with its connection), fetch,
// complete in a transaction with the next periodic job scheduled. 200
// connections, one worker of 4.
func BenchmarkSyncJobOverhead(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		s := mustOpen(b, testOpts(b))
		const n = 200
		for i := range n {
			if err := s.Create(ctx, sample(fmt.Sprintf("c%03d", i))); err != nil {
				b.Fatal(err)
			}
		}
		var done atomic.Int32
		all := make(chan struct{})
		start := time.Now()
		w, err := s.RunWorker(ctx, WorkerConfig{ID: "bench", Concurrency: 4, PollInterval: 200 * time.Millisecond,
			Work: func(context.Context, SyncJob) error {
				if done.Add(1) == n {
					close(all)
				}
				return nil
			}})
		if err != nil {
			b.Fatal(err)
		}
		<-all
		// the last completions commit after the last Work returns
		for deadline := time.Now().Add(time.Minute); countState(allJobs(b, s), JobScheduled) < n; {
			if time.Now().After(deadline) {
				b.Fatal("the last jobs did not complete within a minute")
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		w.Stop(ctx)
		b.ReportMetric(float64(elapsed.Microseconds())/1000/n, "ms/job")
		b.ReportMetric(float64(elapsed.Microseconds())/1000/n*4, "ms/job/slot")
	}
}

func countState(jobs map[string]SyncJob, state string) int {
	n := 0
	for _, j := range jobs {
		if j.State == state {
			n++
		}
	}
	return n
}

// BenchmarkInventory100k writes a sync of 100,000 users, 100 a page, each
// page with its checkpoint in one transaction, as a sync does.
func BenchmarkInventory100k(b *testing.B) { forEachBackendB(b, benchInventory100k) }

func benchInventory100k(b *testing.B, opts Options) {
	ctx := context.Background()
	s := mustOpen(b, opts)
	c := sample("big")
	if err := s.Create(ctx, c); err != nil {
		b.Fatal(err)
	}
	page := make([]InventoryUser, 100)
	for b.Loop() {
		run, _, err := s.BeginRun(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for p := range 1000 {
			for i := range page {
				id := int64(p*100 + i + 1)
				page[i] = InventoryUser{ID: model.IDOf(id), Username: fmt.Sprintf("user%d", id), Name: "Some Body", Email: fmt.Sprintf("user%d@example.com", id),
					State: "active", CreatedAt: "2024-01-02T03:04:05Z", LastActivityOn: "2026-11-20"}
			}
			if _, err := s.SavePage(ctx, run.ID, PageUpdate{Users: page, Checkpoint: fmt.Sprint(p + 1), View: "admin", Gen: run.Gen, From: checkpointBefore(p)}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.FinishRun(ctx, run.ID, run.Gen, RunSucceeded, ""); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/100k-users")
	}
}

// checkpointBefore is where page p (from 0) begins: the checkpoint page p-1
// left, "" for the first.
func checkpointBefore(p int) string {
	if p == 0 {
		return ""
	}
	return fmt.Sprint(p)
}
