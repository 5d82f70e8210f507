package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrationPlan says what migrating a store does: its schema version and
// this onramp's, and River's migrations it lacks.
type MigrationPlan struct {
	Location string `json:"location"`
	// From is the store's schema version (0: no store there yet); To is
	// this onramp's.
	From int `json:"from"`
	To   int `json:"to"`
	// River lists the job queue's migrations to apply.
	River []int `json:"river_migrations"`
}

// Needed reports whether migrating would change anything.
func (p *MigrationPlan) Needed() bool { return p.From < p.To || len(p.River) > 0 }

// PlanMigration reads what Migrate would do, changing nothing and needing
// no key.
func PlanMigration(ctx context.Context, opts Options) (*MigrationPlan, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath(os.Getenv)
	}
	plan := &MigrationPlan{To: SchemaVersion}
	var s *sqlStore
	var err error
	if opts.Path, err = ParseLocation(opts.Path); err != nil {
		return nil, err
	}
	if IsPostgres(opts.Path) {
		cfg, err := pgConfig(opts.Path)
		if err != nil {
			return nil, err
		}
		s = &sqlStore{db: stdlib.OpenDB(*cfg), d: postgresDialect, path: redactedURL(opts.Path)}
	} else {
		if _, err := os.Stat(opts.Path); errors.Is(err, os.ErrNotExist) {
			plan.Location = opts.Path
			return plan, nil // a new store: everything, when it is made
		}
		db, err := sql.Open("sqlite", sqliteDSN(opts.Path))
		if err != nil {
			return nil, err
		}
		s = &sqlStore{db: db, d: sqliteDialect, path: opts.Path}
	}
	defer s.db.Close()
	plan.Location = s.path
	var riverTables bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if riverTables, err = s.hasTable(ctx, tx, "river_migration"); err != nil {
			return err
		}
		has, err := s.hasTable(ctx, tx, "meta")
		if err != nil || !has {
			return err
		}
		meta, err := s.readMeta(ctx, tx)
		if err != nil {
			return err
		}
		plan.From, _ = strconv.Atoi(meta["schema_version"])
		return nil
	})
	if err != nil {
		return nil, s.wrap("read the schema versions", err)
	}
	if s.d.name == "postgres" {
		plan.River, err = riverPlan(ctx, riverdatabasesql.New(s.db), riverTables)
	} else {
		plan.River, err = riverPlan(ctx, riversqlite.New(s.db), riverTables)
	}
	return plan, err
}

// riverPlan is River's pending migrations: all of them before its tables exist.
func riverPlan(ctx context.Context, driver riverdriver.Driver[*sql.Tx], tables bool) ([]int, error) {
	if tables {
		return riverPending(ctx, driver)
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: discardLogger()})
	if err != nil {
		return nil, err
	}
	var all []int
	for _, v := range m.AllVersions() {
		all = append(all, v.Version)
	}
	return all, nil
}

// Migrate brings the store up to this onramp's schema and River's.
func Migrate(ctx context.Context, opts Options) error {
	opts.Migrate = true
	b, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	return b.Close()
}
