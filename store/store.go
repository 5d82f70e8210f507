// Package store keeps connections and their secrets. Store is the interface
// every caller uses; the SQLite implementation lives beside it (sqlite.go) so a
// PostgreSQL one can follow without touching callers.
package store

import (
	"context"
	"errors"
)

// Store is the credential store shared by the wizard, the CLI, the SSH server
// and the sync. Every method that changes data is one transaction.
type Store interface {
	// Create inserts c, assigning ID, timestamps and Revision, and enqueues
	// its first sync in the same transaction. It fails with ErrAliasTaken
	// when the vendor already has that alias (case-insensitively).
	Create(ctx context.Context, c *Connection) error
	// Get returns the connection with its secrets unsealed.
	Get(ctx context.Context, id string) (*Connection, error)
	// Find looks a connection up by vendor and alias (case-insensitively).
	// An empty vendor matches any vendor; ErrAmbiguous when more than one does.
	Find(ctx context.Context, vendor, alias string) (*Connection, error)
	// List returns connections without their secrets, ordered by vendor, alias.
	List(ctx context.Context, opts ListOptions) ([]Connection, error)
	// Update reads the connection, applies fn and commits, all under the
	// store's write lock, so concurrent updaters (threads or processes)
	// serialize and none is lost. If fn returns an error nothing is written.
	Update(ctx context.Context, id string, fn func(*Connection) error) (*Connection, error)
	// UpdateAndSync is Update that also asks for a sync in the same
	// transaction: a reconnected credential's first sync.
	UpdateAndSync(ctx context.Context, id string, fn func(*Connection) error) (*Connection, error)
	// Delete removes the connection and its secrets.
	Delete(ctx context.Context, id string) error
	// Info describes where the store and its key live.
	Info(ctx context.Context) (Info, error)
	Close() error
}

// ListOptions narrows List.
type ListOptions struct {
	Vendor string // empty: every vendor
	// Limit and Offset page the list (Limit 0: all of it).
	Limit, Offset int
}

// Info is what `onramp store info` prints.
type Info struct {
	Path          string  `json:"path"`
	StoreID       string  `json:"store_id"`
	Engine        string  `json:"engine"`
	SchemaVersion int     `json:"schema_version"`
	Connections   int     `json:"connections"`
	Key           KeyInfo `json:"key"`
}

// KeyInfo says where the data key lives and, honestly, who can read it.
type KeyInfo struct {
	Source     string `json:"source"`   // keyring | file | passphrase
	Location   string `json:"location"` // keyring item, file path or command
	Protection string `json:"protection"`
	ReadableBy string `json:"readable_by"`
}

var (
	ErrNotFound    = errors.New("connection not found")
	ErrAliasTaken  = errors.New("alias already used for this vendor")
	ErrAmbiguous   = errors.New("alias matches connections of several vendors")
	ErrWrongKey    = errors.New("the store's key does not open it")
	ErrKeyMissing  = errors.New("the store's key cannot be found")
	ErrNewerSchema = errors.New("store was written by a newer onramp")
	ErrOlderSchema = errors.New("store needs migrating to this onramp's schema")
	// ErrFenced: the sync run was taken over by another process (this one
	// was frozen or cut off past its lease), so this holder may not write.
	ErrFenced  = errors.New("the sync was taken over by another process")
	ErrCorrupt = errors.New("store file is corrupt")
	// ErrStoreLocked: another process has held SQLite's write lock far
	// longer than any transaction takes (it is stopped or frozen).
	ErrStoreLocked  = errors.New("the store is locked")
	ErrNotAStore    = errors.New("file is not an onramp store")
	ErrInsecureMode = errors.New("file is readable by other users")
)
