package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// RoleDefaults are the states EnsureRoles gives the rows it creates, one
// per role (the engine's DefaultState).
type RoleDefaults struct {
	Initiator, Responder string
}

func (d RoleDefaults) of(r Role) string {
	if r == Initiator {
		return d.Initiator
	}
	return d.Responder
}

// RejectedPeer is a peer ID EnsureRoles refused: no row was created for
// it. Err wraps ErrInvalid.
type RejectedPeer struct {
	PeerID string
	Err    error
}

// EnsuredRoles is the outcome of EnsureRoles.
type EnsuredRoles struct {
	// Rows holds both roles' rows of every accepted peer, as stored (new
	// ones at Version 1, existing ones untouched), ordered by role then
	// peer ID in byte order.
	Rows []RoleState
	// Created counts the rows this call inserted.
	Created int
	// Rejected lists the peer IDs that were not valid keys, in input
	// order. They are logged and counted
	// (hsfleet_store_rejected_peers_total) but do not fail the call.
	Rejected []RejectedPeer
}

// ensureChunk bounds the peers of one statement (two rows each), so a huge
// trust bundle becomes several statements of bounded size, each its own
// transaction. The call is idempotent, so a failure part way through
// leaves only rows a retry would create anyway.
const ensureChunk = 1000

// EnsureRoles creates every missing row (selfID, role, peer) for both
// roles and all peers, in one statement per ensureChunk peers, and returns
// all of those rows: what an agent does once at start for the peers it
// knows, instead of a GetOrCreate per conversation as peers appear.
// Existing rows are returned as they are (state, version and counters
// kept). Duplicate peers count once; selfID among peers is skipped (an
// agent has no conversation with itself). An invalid peer ID is reported
// in Rejected and skipped; an invalid selfID or default state fails the
// whole call with ErrInvalid.
//
// It is safe to run concurrently with itself and with GetOrCreate on the
// same rows: rows are inserted in one global order (role, then peer ID
// bytes), so two calls never wait for each other's inserts in a cycle, and
// every caller gets the one row of each key.
func (s *Store) EnsureRoles(ctx context.Context, selfID string, peers []string, defaults RoleDefaults) (res EnsuredRoles, err error) {
	defer s.observe("ensure_roles", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return EnsuredRoles{}, err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return EnsuredRoles{}, err
	}
	for _, st := range []string{defaults.Initiator, defaults.Responder} {
		if err := checkText("state", st, maxStateLen, true); err != nil {
			return EnsuredRoles{}, err
		}
	}
	keys, rejected := s.ensureKeys(selfID, peers)
	res.Rejected = rejected
	for start := 0; start < len(keys); start += 2 * ensureChunk {
		chunk := keys[start:min(start+2*ensureChunk, len(keys))]
		var rows []RoleState
		var created int
		if s.dialect == DialectPostgres {
			rows, created, err = s.ensureRolesPG(ctx, selfID, chunk, defaults)
		} else {
			rows, created, err = s.ensureRolesSQLite(ctx, selfID, chunk, defaults)
		}
		if err != nil {
			return EnsuredRoles{}, fmt.Errorf("store: ensure %d rows of %s: %w", len(chunk), selfID, err)
		}
		res.Rows = append(res.Rows, rows...)
		res.Created += created
	}
	sortRows(res.Rows)
	return res, nil
}

// ensureKeys turns peers into the sorted, distinct keys of both roles,
// and reports (log, metric) the peers that are not valid keys.
func (s *Store) ensureKeys(selfID string, peers []string) ([]Key, []RejectedPeer) {
	var rejected []RejectedPeer
	seen := make(map[string]struct{}, len(peers))
	keys := make([]Key, 0, 2*len(peers))
	for _, p := range peers {
		if p == selfID {
			continue
		}
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		if err := checkText("peer_id", p, maxIDLen, true); err != nil {
			rejected = append(rejected, RejectedPeer{PeerID: p, Err: err})
			rejectedPeers.WithLabelValues("ensure_roles", s.dialect).Inc()
			s.log.Warn("peer ID rejected; no rows created for it", "op", "ensure_roles", "agent_id", selfID,
				"peer", logSafe(p), "error", err)
			continue
		}
		keys = append(keys, Key{SelfID: selfID, Role: Initiator, PeerID: p}, Key{SelfID: selfID, Role: Responder, PeerID: p})
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return keys, rejected
}

func keyLess(a, b Key) bool {
	if a.Role != b.Role {
		return a.Role < b.Role
	}
	return a.PeerID < b.PeerID
}

func sortRows(rows []RoleState) {
	sort.Slice(rows, func(i, j int) bool { return keyLess(rows[i].Key, rows[j].Key) })
}

// logSafe bounds an untrusted value for a log line; slog quotes it.
func logSafe(v string) string {
	const max = 80
	if len(v) > max {
		return v[:max] + fmt.Sprintf("...(%d bytes)", len(v))
	}
	return v
}
