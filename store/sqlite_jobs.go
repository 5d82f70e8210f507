package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// openQueue gives the store its job queue: River's tables in the store's own
// file (so a connection and its first sync commit together), reached through
// a pool of one connection, as River advises for SQLite: its background work
// (fetching, leader election, maintenance) then never contends with itself,
// while the store's own pool keeps serving the wizard. Both pools take the
// write lock at BEGIN and wait for it (busy timeout), so neither sees
// "database is locked".
func (s *sqlStore) openQueue(ctx context.Context, opts Options) error {
	db, err := sql.Open("sqlite", sqliteDSN(s.path))
	if err != nil {
		return fmt.Errorf("open job queue: %w", err)
	}
	db.SetMaxOpenConns(1)
	driver := riversqlite.New(db)
	// River's own migrator, in one of the store's write transactions, so two
	// processes opening the store at once never migrate at the same time.
	// (River deprecates MigrateTx because some PostgreSQL migrations cannot
	// share a transaction; SQLite's can, and the suite migrates every one
	// this way. PostgreSQL uses Migrate under an advisory lock.)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: discardLogger()})
	if err == nil && !s.queueCurrent(ctx, m) {
		err = s.write(ctx, func(tx *sql.Tx) error {
			//lint:ignore SA1019 SQLite's River migrations run together in one transaction (see above).
			if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.d.jobIndex())
			return err
		})
	}
	if err != nil {
		db.Close()
		return s.wrap("migrate the job queue", err)
	}
	q, err := newRiverQueue(s, driver)
	if err != nil {
		db.Close()
		return err
	}
	s.riverDB, s.riverQueue = db, q
	return nil
}

// queueCurrent reports, by reading alone, whether River's tables and the
// job index are already as this build wants them: then opening takes no
// write lock (see init). Any doubt says no, and the write path decides.
func (s *sqlStore) queueCurrent(ctx context.Context, m *rivermigrate.Migrator[*sql.Tx]) bool {
	have, err := m.ExistingVersions(ctx)
	want := m.AllVersions()
	if err != nil || len(have) != len(want) || len(want) == 0 || have[len(have)-1].Version != want[len(want)-1].Version {
		return false
	}
	var n int
	err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'onramp_sync_job_by_connection'`).Scan(&n)
	return err == nil && n == 1
}

// scheduleTx reads a connection's sync period.
func (s *sqlStore) scheduleTx(ctx context.Context, tx *sql.Tx, id string) (time.Duration, bool, error) {
	var secs int64
	err := s.queryRow(ctx, tx, `SELECT sync_every_s FROM connections WHERE id = ?`, id).Scan(&secs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap("read the sync schedule", err)
	}
	return time.Duration(secs) * time.Second, true, nil
}

// setSyncTx sets a connection's sync period and/or stop request.
func (s *sqlStore) setSyncTx(ctx context.Context, tx *sql.Tx, id string, every *time.Duration, stop *bool) error {
	if every != nil {
		if _, err := s.exec(ctx, tx, `UPDATE connections SET sync_every_s = ? WHERE id = ?`, int64(every.Seconds()), id); err != nil {
			return s.wrap("set the sync schedule", err)
		}
	}
	if stop != nil {
		if _, err := s.exec(ctx, tx, `UPDATE connections SET sync_stop = ? WHERE id = ?`, boolInt(*stop), id); err != nil {
			return s.wrap("set the sync's stop request", err)
		}
	}
	return nil
}

// StopRequested implements Jobs: a running sync reads it between pages.
func (s *sqlStore) StopRequested(ctx context.Context, id string) (bool, error) {
	var stop int
	err := s.queryRow(ctx, s.db, `SELECT sync_stop FROM connections WHERE id = ?`, id).Scan(&stop)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: id %s", ErrNotFound, id)
	}
	if err != nil {
		return false, s.wrap("read the sync's stop request", err)
	}
	return stop != 0, nil
}

var _ Jobs = (*sqlStore)(nil)
