package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CopyResult says what Copy did.
type CopyResult struct {
	Connections int      `json:"connections"`
	Aliases     []string `json:"aliases"`
}

// Copy moves every connection of from into to — a laptop's store into the
// team's — in one transaction of to's: each secret unsealed with from's key
// and sealed again under to's, each connection's first sync enqueued with
// it (inventories are not copied: to syncs them anew). An alias to already
// has refuses the whole copy before anything is written; afterwards every
// copied connection is read back from to and compared.
func Copy(ctx context.Context, from, to Backend) (*CopyResult, error) {
	dst, ok := to.(*sqlStore)
	if !ok {
		return nil, errors.New("copy: the destination is not an onramp store")
	}
	list, err := from.List(ctx, ListOptions{})
	if err != nil {
		return nil, err
	}
	conns := make([]*Connection, 0, len(list))
	res := &CopyResult{}
	var taken []string
	for _, c := range list {
		full, err := from.Get(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if _, err := to.Find(ctx, c.Vendor, c.Alias); err == nil {
			taken = append(taken, c.Vendor+"/"+c.Alias)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		conns = append(conns, full)
		res.Aliases = append(res.Aliases, c.Alias)
	}
	if len(taken) > 0 {
		return nil, fmt.Errorf("%w in %s: %v; nothing was copied (rename or remove them on one side first)", ErrAliasTaken, to.Location(), taken)
	}
	err = dst.write(ctx, func(tx *sql.Tx) error {
		for _, c := range conns {
			if err := dst.insertTx(ctx, tx, c); err != nil {
				return fmt.Errorf("copy %s: %w", c.Alias, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range conns { // verified: every one is there, and opens under to's key
		got, err := to.Get(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("copy verification: %w", err)
		}
		for field, v := range c.Secrets {
			if got.Secret(field) != v {
				return nil, fmt.Errorf("copy verification: %s's %s differs", c.Alias, field)
			}
		}
		res.Connections++
	}
	return res, nil
}
