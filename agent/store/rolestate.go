package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RoleState is one conversation's row: the HSAgent_1 columns plus cycles,
// last_cycle_at and Version, the compare-and-set token for Update.
type RoleState struct {
	Key
	State                             string
	LocalNonce, PeerNonce             *string
	LocalReference, PeerReference     *string
	ExchangeCount, FinalizeRetryCount int
	PeerAddress, PeerSignPub          *string
	PeerKxPub                         *string
	HSDerivedAt, LastSecureAt         *time.Time
	Cycles                            int64
	LastCycleAt                       *time.Time
	Version                           int64
	CreatedAt, UpdatedAt              time.Time
}

// roleRow mirrors roleCols for scanning.
type roleRow struct {
	SelfID             string         `db:"self_id"`
	Role               string         `db:"role"`
	PeerID             string         `db:"peer_id"`
	State              string         `db:"state"`
	LocalNonce         sql.NullString `db:"local_nonce"`
	PeerNonce          sql.NullString `db:"peer_nonce"`
	LocalReference     sql.NullString `db:"local_reference"`
	PeerReference      sql.NullString `db:"peer_reference"`
	ExchangeCount      int            `db:"exchange_count"`
	FinalizeRetryCount int            `db:"finalize_retry_count"`
	PeerAddress        sql.NullString `db:"peer_address"`
	PeerSignPub        sql.NullString `db:"peer_sign_pub"`
	PeerKxPub          sql.NullString `db:"peer_kx_pub"`
	HSDerivedAt        dbTime         `db:"hs_derived_at"`
	LastSecureAt       dbTime         `db:"last_secure_at"`
	Cycles             int64          `db:"cycles"`
	LastCycleAt        dbTime         `db:"last_cycle_at"`
	Version            int64          `db:"version"`
	CreatedAt          dbTime         `db:"created_at"`
	UpdatedAt          dbTime         `db:"updated_at"`
}

func strPtr(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	v := n.String
	return &v
}

func (r roleRow) toRoleState() RoleState {
	return RoleState{
		Key:   Key{SelfID: r.SelfID, Role: Role(r.Role), PeerID: r.PeerID},
		State: r.State, LocalNonce: strPtr(r.LocalNonce), PeerNonce: strPtr(r.PeerNonce),
		LocalReference: strPtr(r.LocalReference), PeerReference: strPtr(r.PeerReference),
		ExchangeCount: r.ExchangeCount, FinalizeRetryCount: r.FinalizeRetryCount,
		PeerAddress: strPtr(r.PeerAddress), PeerSignPub: strPtr(r.PeerSignPub), PeerKxPub: strPtr(r.PeerKxPub),
		HSDerivedAt: r.HSDerivedAt.ptr(), LastSecureAt: r.LastSecureAt.ptr(),
		Cycles: r.Cycles, LastCycleAt: r.LastCycleAt.ptr(), Version: r.Version,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
}

// stored is the row an Update of next wrote: next's columns as the
// database keeps them (times at its precision, fresh string copies), plus
// the roleReturned columns scanned into r.
func (next RoleState) stored(r roleRow) RoleState {
	cp := func(p *string) *string {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	tm := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := normTime(*p)
		return &v
	}
	rs := next
	rs.LocalNonce, rs.PeerNonce = cp(next.LocalNonce), cp(next.PeerNonce)
	rs.LocalReference, rs.PeerReference = cp(next.LocalReference), cp(next.PeerReference)
	rs.PeerAddress, rs.PeerSignPub, rs.PeerKxPub = cp(next.PeerAddress), cp(next.PeerSignPub), cp(next.PeerKxPub)
	rs.HSDerivedAt, rs.LastSecureAt = tm(next.HSDerivedAt), tm(next.LastSecureAt)
	rs.Cycles, rs.LastCycleAt, rs.Version = r.Cycles, r.LastCycleAt.ptr(), r.Version
	rs.CreatedAt, rs.UpdatedAt = r.CreatedAt.Time, r.UpdatedAt.Time
	return rs
}

// GetOrCreate returns the row for k, inserting it with defaultState (and
// zero counters) if it does not exist. Concurrent callers for the same key
// all get the one row.
func (s *Store) GetOrCreate(ctx context.Context, k Key, defaultState string) (rs RoleState, err error) {
	defer s.observe("get_or_create", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return RoleState{}, err
	}
	if err := k.validate(); err != nil {
		return RoleState{}, err
	}
	if err := checkText("state", defaultState, maxStateLen, true); err != nil {
		return RoleState{}, err
	}
	if s.dialect == DialectPostgres {
		return s.getOrCreatePG(ctx, k, defaultState)
	}
	// Read first: the row almost always exists, and a read does not take
	// SQLite's single write connection.
	if rs, err := s.getRole(ctx, s.r, k); !errors.Is(err, ErrNotFound) {
		return rs, err
	}
	now := s.timeArg(s.now())
	var row roleRow
	err = s.w.GetContext(ctx, &row, s.q.insertRole, k.SelfID, string(k.Role), k.PeerID, defaultState, now, now)
	if err == nil {
		return row.toRoleState(), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return RoleState{}, fmt.Errorf("store: create %s: %w", k.label(), err)
	}
	// Another writer inserted it between our read and insert. Read it on
	// the writer: on SQLite that sees the commit even before a reader would.
	return s.getRole(ctx, s.w, k)
}

type getter interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

func (s *Store) getRole(ctx context.Context, db getter, k Key) (RoleState, error) {
	var row roleRow
	get := db.GetContext
	if db == getter(s.w) {
		get = s.getOne // prepared when on
	}
	if err := get(ctx, &row, s.q.getRole, k.SelfID, string(k.Role), k.PeerID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RoleState{}, fmt.Errorf("%w: %s", ErrNotFound, k.label())
		}
		return RoleState{}, fmt.Errorf("store: read %s: %w", k.label(), err)
	}
	return row.toRoleState(), nil
}

// Get returns the row for k, or ErrNotFound.
func (s *Store) Get(ctx context.Context, k Key) (rs RoleState, err error) {
	defer s.observe("get", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return RoleState{}, err
	}
	if err := k.validate(); err != nil {
		return RoleState{}, err
	}
	return s.getRole(ctx, s.r, k)
}

// List returns all of selfID's conversations, ordered by role then peer:
// what an agent resumes after a restart.
func (s *Store) List(ctx context.Context, selfID string) (out []RoleState, err error) {
	defer s.observe("list", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := checkText("self_id", selfID, maxIDLen, true); err != nil {
		return nil, err
	}
	var rows []roleRow
	err = s.onReader(ctx, func(ctx context.Context, r writer) error {
		return s.selectBound(ctx, r, &rows, s.q.listRoles, selfID)
	})
	if err != nil {
		return nil, fmt.Errorf("store: list conversations of %s: %w", selfID, err)
	}
	out = make([]RoleState, len(rows))
	for i, r := range rows {
		out[i] = r.toRoleState()
	}
	return out, nil
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer s.observe("ping", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

func (next RoleState) validate() error {
	if err := next.Key.validate(); err != nil {
		return err
	}
	if err := checkText("state", next.State, maxStateLen, true); err != nil {
		return err
	}
	if next.ExchangeCount < 0 || next.FinalizeRetryCount < 0 {
		return fmt.Errorf("%w: negative counter", ErrInvalid)
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"local_nonce", next.LocalNonce, maxTokenLen}, {"peer_nonce", next.PeerNonce, maxTokenLen},
		{"local_reference", next.LocalReference, maxTokenLen}, {"peer_reference", next.PeerReference, maxTokenLen},
		{"peer_address", next.PeerAddress, maxTokenLen},
		{"peer_sign_pub", next.PeerSignPub, maxKeyLen}, {"peer_kx_pub", next.PeerKxPub, maxKeyLen},
	} {
		if err := checkOptText(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	return nil
}

// Update writes next's mutable columns if the row is still at
// next.Version, bumps Version and updated_at, and returns the row as
// stored. ErrConflict means another writer got there first; ErrNotFound
// that the row is gone. Cycles and LastCycleAt are ignored: BumpCycles
// owns them.
func (s *Store) Update(ctx context.Context, next RoleState) (rs RoleState, err error) {
	defer s.observe("update", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return RoleState{}, err
	}
	if err := next.validate(); err != nil {
		return RoleState{}, err
	}
	k := next.Key
	var row roleRow
	args := append(s.updateSetArgs(next), k.SelfID, string(k.Role), k.PeerID, next.Version)
	err = s.getReturned(ctx, &row, s.q.updateRole, args...)
	if err == nil {
		return next.stored(row), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return RoleState{}, fmt.Errorf("store: update %s: %w", k.label(), err)
	}
	var n int
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return w.GetContext(ctx, &n, s.q.roleExists, k.SelfID, string(k.Role), k.PeerID)
	})
	if err != nil {
		return RoleState{}, fmt.Errorf("store: update %s: %w", k.label(), err)
	}
	if n == 0 {
		return RoleState{}, fmt.Errorf("%w: %s", ErrNotFound, k.label())
	}
	return RoleState{}, fmt.Errorf("%w: %s at version %d", ErrConflict, k.label(), next.Version)
}

// updateSetArgs are the arguments of roleSet, with room for the WHERE
// clause's four so appending them does not copy the slice.
func (s *Store) updateSetArgs(next RoleState) []any {
	return append(make([]any, 0, 17), next.State, next.LocalNonce, next.PeerNonce, next.LocalReference, next.PeerReference,
		next.ExchangeCount, next.FinalizeRetryCount, next.PeerAddress, next.PeerSignPub, next.PeerKxPub,
		s.optTimeArg(next.HSDerivedAt), s.optTimeArg(next.LastSecureAt), s.timeArg(s.now()))
}

// BumpCycles counts one completed handshake cycle for k at time at and
// returns the new total. It is an atomic increment and does not move
// Version, so it never makes a concurrent Update conflict.
func (s *Store) BumpCycles(ctx context.Context, k Key, at time.Time) (total int64, err error) {
	defer s.observe("bump_cycles", time.Now(), &err)
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if err := k.validate(); err != nil {
		return 0, err
	}
	t := s.timeArg(at)
	err = s.onWriter(ctx, func(ctx context.Context, w writer) error {
		return w.GetContext(ctx, &total, s.q.bumpCycles, 0, 0, t, t, t, t, s.timeArg(s.now()), k.SelfID, string(k.Role), k.PeerID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, k.label())
	}
	if err != nil {
		return 0, fmt.Errorf("store: bump cycles %s: %w", k.label(), err)
	}
	return total, nil
}

// label renders a key for errors: self/role/peer. (Not String: RoleState
// embeds Key, and would print as just its key.)
func (k Key) label() string { return k.SelfID + "/" + string(k.Role) + "/" + k.PeerID }
