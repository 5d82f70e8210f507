package sshserver

import (
	"context"

	"charm.land/log/v2"

	"github.com/onramp-dev/onramp/internal/textsafe"
	"github.com/onramp-dev/onramp/store"
)

// loggingStore is the shared store, recording in the server log who created,
// reconnected or removed which connection (never a secret: connections are
// logged by id, alias and host only).
type loggingStore struct {
	store.Backend
	log *log.Logger
}

func (s *loggingStore) Create(ctx context.Context, c *store.Connection) error {
	err := s.Backend.Create(ctx, c)
	if err == nil {
		s.log.Info("create", "actor", store.ActorFrom(ctx), "id", c.ID, "alias", textsafe.Line(c.Alias), "host", textsafe.Line(c.BaseURL), "auth", c.AuthMethod)
	}
	return err
}

// UpdateAndSync is a reconnect: a new credential and its first sync.
func (s *loggingStore) UpdateAndSync(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	c, err := s.Backend.UpdateAndSync(ctx, id, fn)
	if err == nil {
		s.log.Info("reconnect", "actor", store.ActorFrom(ctx), "id", c.ID, "alias", textsafe.Line(c.Alias), "host", textsafe.Line(c.BaseURL))
	}
	return c, err
}

func (s *loggingStore) Delete(ctx context.Context, id string) error {
	c, _ := s.Backend.Get(ctx, id)
	err := s.Backend.Delete(ctx, id)
	if err == nil && c != nil {
		s.log.Info("remove", "actor", store.ActorFrom(ctx), "id", id, "alias", textsafe.Line(c.Alias), "host", textsafe.Line(c.BaseURL))
	}
	return err
}
