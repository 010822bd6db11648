package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Agent is one agent's liveness row.
type Agent struct {
	SelfID, Name, Namespace, SignPub, KxPub, SoftwareVersion string
	StartedAt, LastSeenAt                                    time.Time
}

func (a Agent) validate() error {
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"self_id", a.SelfID, maxIDLen, true}, {"name", a.Name, maxNameLen, false},
		{"namespace", a.Namespace, maxNameLen, false}, {"sign_pub", a.SignPub, maxKeyLen, false},
		{"kx_pub", a.KxPub, maxKeyLen, false}, {"software_version", a.SoftwareVersion, maxTokenLen, false},
	} {
		if err := checkText(f.name, f.v, f.max, f.required); err != nil {
			return err
		}
	}
	return nil
}

// UpsertAgent inserts or replaces the agent's row. A zero StartedAt means
// now; a zero LastSeenAt means StartedAt.
func (s *Store) UpsertAgent(ctx context.Context, a Agent) (err error) {
	defer s.observe("upsert_agent", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := a.validate(); err != nil {
		return err
	}
	if a.StartedAt.IsZero() {
		a.StartedAt = s.now()
	}
	if a.LastSeenAt.IsZero() {
		a.LastSeenAt = a.StartedAt
	}
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		_, err := s.execBound(ctx, w, s.q.upsertAgent, a.SelfID, a.Name, a.Namespace, a.SignPub, a.KxPub,
			a.SoftwareVersion, s.timeArg(a.StartedAt), s.timeArg(a.LastSeenAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: upsert agent %s: %w", a.SelfID, err)
	}
	return nil
}

// TouchAgent moves last_seen_at forward to at (never backwards).
// ErrNotFound if the agent has no row.
func (s *Store) TouchAgent(ctx context.Context, selfID string, at time.Time) (err error) {
	defer s.observe("touch_agent", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return err
	}
	t := s.timeArg(at)
	var n int64
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		res, err := s.execBound(ctx, w, s.q.touchAgent, t, t, selfID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: touch agent %s: %w", selfID, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: agent %s", ErrNotFound, selfID)
	}
	return nil
}

type agentRow struct {
	SelfID          string `db:"self_id"`
	Name            string `db:"name"`
	Namespace       string `db:"namespace"`
	SignPub         string `db:"sign_pub"`
	KxPub           string `db:"kx_pub"`
	SoftwareVersion string `db:"software_version"`
	StartedAt       dbTime `db:"started_at"`
	LastSeenAt      dbTime `db:"last_seen_at"`
}

// GetAgent returns the agent's row, or ErrNotFound.
func (s *Store) GetAgent(ctx context.Context, selfID string) (a Agent, err error) {
	defer s.observe("get_agent", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return Agent{}, err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return Agent{}, err
	}
	var r agentRow
	if err := s.r.GetContext(ctx, &r, s.q.getAgent, selfID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Agent{}, fmt.Errorf("%w: agent %s", ErrNotFound, selfID)
		}
		return Agent{}, fmt.Errorf("store: read agent %s: %w", selfID, err)
	}
	return Agent{SelfID: r.SelfID, Name: r.Name, Namespace: r.Namespace, SignPub: r.SignPub, KxPub: r.KxPub,
		SoftwareVersion: r.SoftwareVersion, StartedAt: r.StartedAt.Time, LastSeenAt: r.LastSeenAt.Time}, nil
}

// DeleteAgentState forgets an agent everywhere: its own conversations and
// nonces, every peer's conversations and nonces with it, and its agents
// row. One transaction, so no reader sees half of it.
func (s *Store) DeleteAgentState(ctx context.Context, agentID string) (err error) {
	defer s.observe("delete_agent_state", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := checkText("agent_id", agentID, maxIDLen, true); err != nil {
		return err
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete agent %s: begin: %w", agentID, err)
	}
	defer tx.Rollback()
	for _, step := range []struct {
		query string
		args  []any
	}{
		{s.q.deleteAgentNonces, []any{agentID, agentID}},
		{s.q.deleteAgentRoles, []any{agentID, agentID}},
		{s.q.deleteAgent, []any{agentID}},
	} {
		if _, err := tx.ExecContext(ctx, step.query, step.args...); err != nil {
			return fmt.Errorf("store: delete agent %s: %w", agentID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete agent %s: commit: %w", agentID, err)
	}
	return nil
}
