package store

import "context"

type actorKey struct{}

// WithActor records who is acting (an OS user, or an SSH key fingerprint) for
// the changes made with ctx.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context, fallback string) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return fallback
}

// ActorFrom returns who acts in ctx, or "" when ctx names nobody.
func ActorFrom(ctx context.Context) string { return actorFrom(ctx, "") }
