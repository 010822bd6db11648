package store

import (
	"context"
	"strings"
)

// warnIfSyncCommit checks that asynchronous commit took effect. It is
// asked for as a startup parameter, which PgBouncer refuses, or drops when
// configured with ignore_startup_parameters = synchronous_commit; then the
// role or database setting decides (docs/database.md). Commits stay
// correct either way, only slower, so this is a warning.
func (s *Store) warnIfSyncCommit(ctx context.Context) {
	var v string
	if err := s.w.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&v); err != nil {
		s.log.Warn("store: cannot read synchronous_commit", "error", err)
		return
	}
	if !strings.EqualFold(v, "off") {
		s.log.Warn("store: asynchronous commit requested, but the server session runs synchronous_commit="+v+
			"; behind PgBouncer set it for the role: ALTER ROLE <agent role> SET synchronous_commit = off",
			"dialect", s.dialect, "synchronous_commit", v)
	}
}
