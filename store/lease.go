package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimLease implements Leases: one short statement.
func (s *sqlStore) ClaimLease(ctx context.Context, id, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	var claimed bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE connections SET lease_holder = ?, lease_until_ms = ?
			WHERE id = ? AND (lease_until_ms < ? OR lease_holder = ?)`, holder, now.Add(ttl).UnixMilli(), id, now.UnixMilli(), holder)
		if err != nil {
			return s.wrap("claim a lease", err)
		}
		n, _ := res.RowsAffected()
		claimed = n == 1
		return nil
	})
	if err == nil && !claimed {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return false, gerr // gone, not held
		}
	}
	return claimed, err
}

// ReleaseLease implements Leases.
func (s *sqlStore) ReleaseLease(ctx context.Context, id, holder string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `UPDATE connections SET lease_holder = '', lease_until_ms = 0 WHERE id = ? AND lease_holder = ?`, id, holder); err != nil {
			return fmt.Errorf("release a lease: %w", err)
		}
		return nil
	})
}
