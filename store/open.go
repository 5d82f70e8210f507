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
	Leases
	// Location says where the store is: a file's path, or a database URL
	// without its password.
	Location() string
}

// Leases guard work on one connection across processes and machines (a
// token refresh, whose HTTP call must not run inside a transaction that
// would block the store) with a short claim that expires.
type Leases interface {
	// ClaimLease takes the connection's lease for holder until ttl from
	// now, unless another holder has it; ok reports whether it did.
	ClaimLease(ctx context.Context, id, holder string, ttl time.Duration) (ok bool, err error)
	// ReleaseLease ends holder's lease (nothing when it is not holder's).
	ReleaseLease(ctx context.Context, id, holder string) error
}

// IsPostgres reports whether a store location is a PostgreSQL URL.
func IsPostgres(location string) bool {
	lower := strings.ToLower(location)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
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
	var err error
	if opts.Path, err = ParseLocation(opts.Path); err != nil {
		return nil, err
	}
	if IsPostgres(opts.Path) {
		return openPostgres(ctx, opts)
	}
	return openSQLiteFile(ctx, opts)
}
