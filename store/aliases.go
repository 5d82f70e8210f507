package store

import (
	"context"
	"database/sql"
	"errors"
	"os"

	"github.com/jackc/pgx/v5/stdlib"
)

// Aliases lists the stored connections' vendors and aliases for shell
// completion: it opens the database read-only, loads no key, unseals
// nothing, runs no passphrase command and creates nothing (a missing store
// has no aliases).
func Aliases(ctx context.Context, opts Options) ([][2]string, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath(os.Getenv)
	}
	var db *sql.DB
	var err error
	if opts.Path, err = ParseLocation(opts.Path); err != nil {
		return nil, err
	}
	if IsPostgres(opts.Path) {
		cfg, err := pgConfig(opts.Path)
		if err != nil {
			return nil, err
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		if _, err := os.Stat(opts.Path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if db, err = sql.Open("sqlite", fileURI(opts.Path, "mode=ro&_pragma=busy_timeout(2000)")); err != nil {
			return nil, err
		}
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT vendor, alias FROM connections ORDER BY alias_key")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var v, a string
		if err := rows.Scan(&v, &a); err != nil {
			return nil, err
		}
		out = append(out, [2]string{v, a})
	}
	return out, rows.Err()
}
