package store

import (
	"context"
	"os"
	"strings"
	"time"
)

// Backend is a whole store: connections, their inventory and the queue their
// syncs run in. Callers hold a Backend and never know which database is
// behind it.
type Backend interface {
	Store
	Inventory
	Jobs
	// Location says where the store is: a file's path, or a database URL
	// without its password.
	Location() string
}

// IsPostgres reports whether a store location is a PostgreSQL URL.
func IsPostgres(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// Open opens the store at opts.Path: a SQLite file (created with its key
// when missing), or a PostgreSQL database given as a postgres:// URL.
func Open(ctx context.Context, opts Options) (Backend, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath(os.Getenv)
	}
	if opts.ConfigDir == "" {
		opts.ConfigDir = DefaultConfigDir(os.Getenv)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Actor == "" {
		opts.Actor = OSUser()
	}
	if IsPostgres(opts.Path) {
		return openPostgres(ctx, opts)
	}
	return openSQLiteFile(ctx, opts)
}
