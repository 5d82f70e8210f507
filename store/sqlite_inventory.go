package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

var _ Inventory = (*sqlStore)(nil)

const runColumns = `id, connection_id, status, started_at, finished_at, checkpoint, users, pages, retries, total, view, note, error, gen`

func scanRun(r rowScanner) (*SyncRun, error) {
	var run SyncRun
	var started string
	var finished sql.NullString
	var total sql.NullInt64
	if err := r.Scan(&run.ID, &run.ConnectionID, &run.Status, &started, &finished, &run.Checkpoint, &run.Users, &run.Pages,
		&run.Retries, &total, &run.View, &run.Note, &run.Error, &run.Gen); err != nil {
		return nil, err
	}
	run.StartedAt = *parseNullTime(sql.NullString{String: started, Valid: true})
	run.FinishedAt = parseNullTime(finished)
	if total.Valid {
		t := int(total.Int64)
		run.Total = &t
	}
	return &run, nil
}

func (s *sqlStore) getRun(ctx context.Context, q querier, id int64) (*SyncRun, error) {
	run, err := scanRun(s.queryRow(ctx, q, `SELECT `+runColumns+` FROM sync_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: sync run %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, s.wrap("read sync run", err)
	}
	return run, nil
}

// BeginRun resumes the connection's unfinished run or starts one, under a
// new generation: whoever held the run before can no longer write to it.
func (s *sqlStore) BeginRun(ctx context.Context, connectionID string) (*SyncRun, bool, error) {
	var run *SyncRun
	resumed := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The newest run resumes if it never finished: running (its process
		// died), stopped, or failed part-way (it has a checkpoint).
		r, err := scanRun(s.queryRow(ctx, tx, `SELECT `+runColumns+` FROM sync_runs
			WHERE connection_id = ? ORDER BY id DESC LIMIT 1`, connectionID))
		if err == nil && (r.Status == RunSucceeded || (r.Status == RunFailed && r.Checkpoint == "")) {
			err = sql.ErrNoRows
		}
		switch {
		case err == nil:
			if _, err := s.exec(ctx, tx, `UPDATE sync_runs SET status = ?, error = '', finished_at = NULL, gen = gen + 1 WHERE id = ?`, RunRunning, r.ID); err != nil {
				return s.wrap("resume sync run", err)
			}
			r.Status, r.Error, r.FinishedAt, r.Gen, run, resumed = RunRunning, "", nil, r.Gen+1, r, true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return s.wrap("find sync run", err)
		}
		r, err = scanRun(s.queryRow(ctx, tx, `INSERT INTO sync_runs (connection_id, status, started_at, gen) VALUES (?, ?, ?, 1) RETURNING `+runColumns,
			connectionID, RunRunning, formatTime(s.now())))
		if err != nil {
			if isForeignKeyViolation(err) {
				return fmt.Errorf("%w: id %s", ErrNotFound, connectionID)
			}
			return s.wrap("start sync run", err)
		}
		run = r
		return nil
	})
	return run, resumed, err
}

// SavePage inserts a page of users (a user already in the run is kept, so a
// page fetched twice around a crash adds nobody twice) and moves the
// checkpoint, in one transaction, only while p.Gen is the run's generation.
func (s *sqlStore) SavePage(ctx context.Context, runID int64, p PageUpdate) (*SyncRun, error) {
	var total any
	if p.Total != nil {
		total = *p.Total
	}
	const checkpoint = `pages = pages + 1, checkpoint = ?, retries = ?, total = COALESCE(?, total), view = ?, note = ?
		WHERE id = ? AND gen = ? AND checkpoint = ? RETURNING ` + runColumns
	checkpointArgs := []any{p.Checkpoint, p.Retries, total, p.View, p.Note, runID, p.Gen, p.From}
	if s.d.name == "postgres" && len(p.Users) > 0 {
		return s.savePagePostgres(ctx, runID, p, checkpoint, checkpointArgs)
	}
	var run *SyncRun
	err := s.write(ctx, func(tx *sql.Tx) error {
		added := int64(0)
		// In statements of sqliteUsersPerInsert: SQLite takes at most
		// 32,766 parameters in one.
		for users := p.Users; len(users) > 0; {
			chunk := users[:min(len(users), sqliteUsersPerInsert)]
			users = users[len(chunk):]
			insert, args := usersInsert(runID, chunk)
			res, err := s.exec(ctx, tx, insert, args...)
			if isForeignKeyViolation(err) { // the run was deleted
				return s.whyNotSaved(ctx, tx, runID, p)
			}
			if err != nil {
				return s.wrap("save users", err)
			}
			n, _ := res.RowsAffected()
			added += n
		}
		var err error
		run, err = scanRun(s.queryRow(ctx, tx, `UPDATE sync_runs SET users = users + ?, `+checkpoint, append([]any{added}, checkpointArgs...)...))
		if errors.Is(err, sql.ErrNoRows) { // nothing written: the transaction ends, and why is said
			return s.whyNotSaved(ctx, tx, runID, p)
		}
		return err
	})
	if err != nil {
		return nil, s.wrap("save a page", err)
	}
	return run, nil
}

// whyNotSaved says why a page's update matched no run: it is gone, fenced,
// or at another checkpoint than the page began at.
func (s *sqlStore) whyNotSaved(ctx context.Context, q querier, runID int64, p PageUpdate) error {
	if err := s.checkGen(ctx, q, runID, p.Gen); err != nil {
		return err
	}
	run, err := s.getRun(ctx, q, runID)
	if err != nil {
		return err
	}
	return fmt.Errorf("the run is at checkpoint %q, not %q where this page began", run.Checkpoint, p.From)
}

// sqliteUsersPerInsert keeps an insert of users under SQLite's parameter
// limit (12 a user).
const sqliteUsersPerInsert = 2000

// savePagePostgres saves a page in one statement — the users and the
// checkpoint, atomic by itself — one round trip where a transaction would
// take four. The run is locked first (FOR KEY SHARE, in place of a foreign
// key): rows are added only to a run that exists, and a delete of the run
// waits for them and then deletes them. The statement applies only from
// the checkpoint the page began at (p.From), so when the connection is
// lost mid-statement it is sent again on a new one: applied once, whatever
// became of the first.
func (s *sqlStore) savePagePostgres(ctx context.Context, runID int64, p PageUpdate, checkpoint string, checkpointArgs []any) (*SyncRun, error) {
	insert, args := usersInsertArrays(runID, p.Users)
	query := `WITH run AS (SELECT id FROM sync_runs WHERE id = ? AND gen = ? AND checkpoint = ? FOR KEY SHARE),
		added AS (` + insert + ` RETURNING 1)
		UPDATE sync_runs SET users = users + (SELECT count(*) FROM added), ` + checkpoint
	all := append(append([]any{runID, p.Gen, p.From}, args...), checkpointArgs...)
	for attempt := 0; ; attempt++ {
		run, err := scanRun(s.queryRow(ctx, s.bulkDB, query, all...))
		switch {
		case err == nil:
			return run, nil
		case errors.Is(err, sql.ErrNoRows): // gone, fenced, or already applied by a lost attempt
			if run, err := s.getRun(ctx, s.db, runID); err == nil && attempt > 0 && run.Gen == p.Gen && run.Checkpoint == p.Checkpoint {
				return run, nil
			}
			return nil, s.wrap("save a page", s.whyNotSaved(ctx, s.db, runID, p))
		case isConnLost(err) && attempt < 3 && ctx.Err() == nil:
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond) // then again, on a new connection
		default:
			return nil, s.wrap("save a page", err)
		}
	}
}

// checkGen says why a run cannot be written at generation gen: it is gone
// (ErrNotFound) or another holder took it (ErrFenced); nil when it can.
func (s *sqlStore) checkGen(ctx context.Context, q querier, runID, gen int64) error {
	var have int64
	err := s.queryRow(ctx, q, `SELECT gen FROM sync_runs WHERE id = ?`, runID).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: sync run %d", ErrNotFound, runID)
	case err != nil:
		return s.wrap("read the sync run's generation", err)
	case have != gen:
		return fmt.Errorf("%w (run %d is at generation %d, this holder has %d)", ErrFenced, runID, have, gen)
	}
	return nil
}

// usersInsertArrays is usersInsert for PostgreSQL: one array a column
// (unnest), so a page is 12 parameters however many users it has, encoded
// in bulk rather than one by one; it adds nothing unless the statement's
// "run" holds the run (SavePage).
func usersInsertArrays(runID int64, users []InventoryUser) (string, []any) {
	n := len(users)
	ids, bots, admins := make([]string, n), make([]int32, n), make([]int32, n)
	seats := make([]*int32, n)
	var username, name, email, state, created, signIn, activity, licenses = make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, u := range users {
		ids[i], bots[i], admins[i] = string(u.ID), int32(boolInt(u.Bot)), int32(boolInt(u.Admin))
		if u.Seat != nil {
			v := int32(boolInt(*u.Seat))
			seats[i] = &v
		}
		username[i], name[i], email[i], state[i] = u.Username, u.Name, u.Email, u.State
		created[i], signIn[i], activity[i], licenses[i] = u.CreatedAt, u.LastSignInAt, u.LastActivityOn, joinLicenses(u.Licenses)
	}
	return `INSERT INTO inventory_users (run_id, user_id, username, name, email, state, bot, admin, seat,
		created_at, last_sign_in_at, last_activity_on, licenses)
		SELECT ?, * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[], ?::int[],
			?::text[], ?::text[], ?::text[], ?::text[])
		WHERE EXISTS (SELECT 1 FROM run)
		ON CONFLICT(run_id, user_id) DO NOTHING`,
		[]any{runID, ids, username, name, email, state, bots, admins, seats, created, signIn, activity, licenses}
}

// usersInsert is the statement inserting a page of users, keeping a user
// already in the run (a page fetched twice around a crash adds nobody
// twice); "" for an empty page.
func usersInsert(runID int64, users []InventoryUser) (string, []any) {
	if len(users) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO inventory_users (run_id, user_id, username, name, email, state, bot, admin, seat,
		created_at, last_sign_in_at, last_activity_on, licenses) VALUES `)
	args := make([]any, 0, len(users)*13)
	for i, u := range users {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
		var seat any
		if u.Seat != nil {
			seat = boolInt(*u.Seat)
		}
		args = append(args, runID, string(u.ID), u.Username, u.Name, u.Email, u.State, boolInt(u.Bot), boolInt(u.Admin), seat,
			u.CreatedAt, u.LastSignInAt, u.LastActivityOn, joinLicenses(u.Licenses))
	}
	b.WriteString(` ON CONFLICT(run_id, user_id) DO NOTHING`)
	return b.String(), args
}

// SaveSeats records seat figures for a run, at the holder's generation.
func (s *sqlStore) SaveSeats(ctx context.Context, runID, gen int64, seats []Seats) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkGen(ctx, tx, runID, gen); err != nil {
			return err
		}
		for _, st := range seats {
			if _, err := s.exec(ctx, tx, `INSERT INTO inventory_seats (run_id, scope, plan, seats, used, max_used, expires_at)
				VALUES (?,?,?,?,?,?,?) ON CONFLICT(run_id, scope) DO UPDATE SET plan = excluded.plan, seats = excluded.seats,
				used = excluded.used, max_used = excluded.max_used, expires_at = excluded.expires_at`,
				runID, st.Scope, st.Plan, st.Seats, st.Used, st.MaxUsed, st.ExpiresAt); err != nil {
				return s.wrap("save seats", err)
			}
		}
		return nil
	})
}

// FinishRun ends a run at the holder's generation and prunes old snapshots.
func (s *sqlStore) FinishRun(ctx context.Context, runID, gen int64, status, errText string) (*SyncRun, error) {
	var run *SyncRun
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkGen(ctx, tx, runID, gen); err != nil {
			return err
		}
		var finished any
		if status != RunStopped {
			finished = formatTime(s.now())
		}
		if _, err := s.exec(ctx, tx, `UPDATE sync_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?`,
			status, errText, finished, runID); err != nil {
			return s.wrap("finish sync run", err)
		}
		r, err := s.getRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		run = r
		if status == RunSucceeded {
			// Keep the last few snapshots; older runs' rows go with them.
			gone, err := s.deleteRuns(ctx, tx, `DELETE FROM sync_runs WHERE connection_id = ? AND id NOT IN
				(SELECT id FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT ?) RETURNING id`, r.ConnectionID, r.ConnectionID, keepSnapshots+2)
			if err != nil {
				return s.wrap("prune snapshots", err)
			}
			return s.deleteRunRows(ctx, tx, gone)
		}
		return nil
	})
	return run, err
}

// FailRun implements Inventory.
func (s *sqlStore) FailRun(ctx context.Context, runID, gen int64, _, errText string) (*SyncRun, error) {
	var run *SyncRun
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.checkGen(ctx, tx, runID, gen); err != nil {
			return err
		}
		var err error
		run, err = scanRun(s.queryRow(ctx, tx, `UPDATE sync_runs SET status = ?, error = ?, finished_at = ?, checkpoint = ''
			WHERE id = ? RETURNING `+runColumns, RunFailed, errText, formatTime(s.now()), runID))
		return err
	})
	return run, err
}

// Runs lists a connection's runs, newest first.
func (s *sqlStore) Runs(ctx context.Context, connectionID string, limit int) ([]SyncRun, error) {
	rows, err := s.query(ctx, s.db, `SELECT `+runColumns+` FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT ?`, connectionID, limit)
	if err != nil {
		return nil, s.wrap("list sync runs", err)
	}
	defer rows.Close()
	var out []SyncRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, s.wrap("list sync runs", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// LatestRunsOf returns the newest run of each of these connections, each
// found through the (connection, id) index.
func (s *sqlStore) LatestRunsOf(ctx context.Context, ids []string) (map[string]SyncRun, error) {
	out := map[string]SyncRun{}
	err := inChunks(ids, func(marks string, args []any) error {
		rows, err := s.query(ctx, s.db, `SELECT `+runColumns+` FROM sync_runs WHERE id IN
			(SELECT max(id) FROM sync_runs WHERE connection_id IN (`+marks+`) GROUP BY connection_id)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			out[r.ConnectionID] = *r
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrap("read the last syncs", err)
	}
	return out, nil
}

// Users streams a run's users.
func (s *sqlStore) Users(ctx context.Context, runID int64, fn func(InventoryUser) error) error {
	rows, err := s.query(ctx, s.db, `SELECT user_id, username, name, email, state, bot, admin, seat, created_at,
		last_sign_in_at, last_activity_on, licenses FROM inventory_users WHERE run_id = ? ORDER BY `+s.d.userOrder, runID)
	if err != nil {
		return s.wrap("read inventory", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u InventoryUser
		var id string
		var bot, admin int
		var seat sql.NullInt64
		var licenses string
		if err := rows.Scan(&id, &u.Username, &u.Name, &u.Email, &u.State, &bot, &admin, &seat, &u.CreatedAt,
			&u.LastSignInAt, &u.LastActivityOn, &licenses); err != nil {
			return s.wrap("read inventory", err)
		}
		u.ID, u.Bot, u.Admin, u.Licenses = ID(id), bot != 0, admin != 0, splitLicenses(licenses)
		if seat.Valid {
			v := seat.Int64 != 0
			u.Seat = &v
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Seats returns a run's seat figures.
func (s *sqlStore) Seats(ctx context.Context, runID int64) ([]Seats, error) {
	rows, err := s.query(ctx, s.db, `SELECT scope, plan, seats, used, max_used, expires_at FROM inventory_seats WHERE run_id = ? ORDER BY scope`, runID)
	if err != nil {
		return nil, s.wrap("read seats", err)
	}
	defer rows.Close()
	var out []Seats
	for rows.Next() {
		var st Seats
		var seats, used, maxUsed sql.NullInt64
		if err := rows.Scan(&st.Scope, &st.Plan, &seats, &used, &maxUsed, &st.ExpiresAt); err != nil {
			return nil, s.wrap("read seats", err)
		}
		st.Seats, st.Used, st.MaxUsed = nullInt(seats), nullInt(used), nullInt(maxUsed)
		out = append(out, st)
	}
	return out, rows.Err()
}

func nullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// deleteRuns runs a DELETE … RETURNING id on sync_runs and gives the ids.
func (s *sqlStore) deleteRuns(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := s.query(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// deleteRunRows deletes the inventory rows of runs just deleted. SQLite's
// foreign key has already cascaded; PostgreSQL's rows have none (schema 7),
// and this statement, after the runs' delete, sees every row a SavePage
// that held a run committed while the delete waited for it.
func (s *sqlStore) deleteRunRows(ctx context.Context, tx *sql.Tx, runs []int64) error {
	if s.d.name != "postgres" || len(runs) == 0 {
		return nil
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM inventory_users WHERE run_id = ANY(?)`, runs); err != nil {
		return s.wrap("delete inventory rows", err)
	}
	return nil
}

// joinLicenses stores a person's licenses in one column: the names a
// vendor gives its products hold no commas.
func joinLicenses(l []string) string { return strings.Join(l, ",") }

func splitLicenses(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
