package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// benchStore holds 10,000 connections (one per run: made once, reused).
func benchStore(b *testing.B) (Options, []string) {
	b.Helper()
	ctx := context.Background()
	opts := testOpts(b)
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

func BenchmarkStore10k(b *testing.B) {
	ctx := context.Background()
	opts, ids := benchStore(b)
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
		for jobs, _ := s.SyncJobs(ctx); countState(jobs, JobScheduled) < n; jobs, _ = s.SyncJobs(ctx) {
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
