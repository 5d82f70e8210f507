package store

import (
	"context"
	"database/sql"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

type spikeArgs struct {
	ConnectionID string `json:"connection_id" river:"unique"`
}

func (spikeArgs) Kind() string { return "sync" }

func TestSpikeRiver(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, testOpts(t))
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+s.path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	start := time.Now()
	m, _ := rivermigrate.New(riversqlite.New(db), nil)
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("migrate %s", time.Since(start))
	start = time.Now()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("migrate again %s", time.Since(start))
	var ran atomic.Int32
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[spikeArgs]) error {
		ran.Add(1)
		return nil
	}))
	c, err := river.NewClient(riversqlite.New(db), &river.Config{Workers: workers, Queues: map[string]river.QueueConfig{"default": {MaxWorkers: 2}}, PollOnly: true, FetchPollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// insert in the store's own transaction
	err = s.write(ctx, func(tx *sql.Tx) error {
		r, err := c.InsertTx(ctx, tx, spikeArgs{"c1"}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
		t.Logf("insert %+v %v", r.Job.ID, err)
		r, err = c.InsertTx(ctx, tx, spikeArgs{"c1"}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
		t.Logf("dup %v %v", r.UniqueSkippedAsDuplicate, err)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for ran.Load() == 0 && time.Since(start) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("ran %d after %s", ran.Load(), time.Since(start))
	c.Stop(ctx)
}
