package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MaxSummaryPeers bounds Summary's list whatever limit the caller asks for.
const MaxSummaryPeers = 10000

// PeerSummary is one conversation as the operator shows it. Summary sets
// Secure when an authenticated key exchange (hs) completed for the pair at
// least once; FleetSummary and FleetRows by sampleSecure (a live session,
// verified cycles for a binding pair) and VerifiedCycles from
// role_state.verified_cycles (Summary leaves it 0).
type PeerSummary struct {
	PeerID, Name, Role, State string
	Cycles                    int64
	VerifiedCycles            int64
	LastCycleAt               *time.Time
	Secure                    bool
}

// AgentSummary is what the operator writes into an HSAgent's status.
type AgentSummary struct {
	SelfID      string
	Peers       []PeerSummary // at most limit rows, most recent cycle first
	PeerCount   int           // distinct peers, exact
	Cycles      int64         // all conversations, exact
	LastCycleAt *time.Time
}

type peerRow struct {
	PeerID      string `db:"peer_id"`
	Name        string `db:"name"`
	Role        string `db:"role"`
	State       string `db:"state"`
	Cycles      int64  `db:"cycles"`
	LastCycleAt dbTime `db:"last_cycle_at"`
	Secure      bool   `db:"secure"`
}

// Summary reads an agent's conversations (one entry per role and peer,
// capped at limit) and exact totals, from one consistent snapshot.
func (s *Store) Summary(ctx context.Context, selfID string, limit int) (sum AgentSummary, err error) {
	defer s.observe("summary", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return AgentSummary{}, err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return AgentSummary{}, err
	}
	if limit < 0 {
		return AgentSummary{}, fmt.Errorf("%w: negative summary limit %d", ErrInvalid, limit)
	}
	limit = min(limit, MaxSummaryPeers)
	// Totals and list in one snapshot: REPEATABLE READ on PostgreSQL; a
	// SQLite read transaction is a snapshot already (and its driver
	// accepts no isolation option).
	var opts *sql.TxOptions
	if s.dialect == DialectPostgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.r.BeginTxx(ctx, opts)
	if err != nil {
		return AgentSummary{}, fmt.Errorf("store: summary of %s: begin: %w", selfID, err)
	}
	defer tx.Rollback()
	sum.SelfID = selfID
	var last dbTime
	if err := tx.QueryRowxContext(ctx, s.q.summaryTotals, selfID).Scan(&sum.PeerCount, &sum.Cycles, &last); err != nil {
		return AgentSummary{}, fmt.Errorf("store: summary totals of %s: %w", selfID, err)
	}
	sum.LastCycleAt = last.ptr()
	sum.Peers = []PeerSummary{}
	if limit == 0 || sum.PeerCount == 0 {
		return sum, nil
	}
	rows, err := tx.QueryxContext(ctx, s.q.summaryPeers, selfID, limit)
	if err != nil {
		return AgentSummary{}, fmt.Errorf("store: summary peers of %s: %w", selfID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r peerRow
		if err := rows.Scan(&r.PeerID, &r.Name, &r.Role, &r.State, &r.Cycles, &r.LastCycleAt, &r.Secure); err != nil {
			return AgentSummary{}, fmt.Errorf("store: summary peers of %s: %w", selfID, err)
		}
		sum.Peers = append(sum.Peers, PeerSummary{PeerID: r.PeerID, Name: r.Name, Role: r.Role, State: r.State,
			Cycles: r.Cycles, LastCycleAt: r.LastCycleAt.ptr(), Secure: r.Secure})
	}
	if err := rows.Err(); err != nil {
		return AgentSummary{}, fmt.Errorf("store: summary peers of %s: %w", selfID, err)
	}
	return sum, nil
}
