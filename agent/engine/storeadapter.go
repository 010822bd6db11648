package engine

import (
	"context"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// Store is what a conversation needs from agent/store (*store.Store
// implements it).
type Store interface {
	GetOrCreate(ctx context.Context, k store.Key, defaultState string) (store.RoleState, error)
	// EnsureRoles creates the missing rows of both roles for peers in one
	// statement per 1,000 peers and returns them all (ensureroles.go).
	EnsureRoles(ctx context.Context, selfID string, peers []string, defaults store.RoleDefaults) (store.EnsuredRoles, error)
	Update(ctx context.Context, next store.RoleState) (store.RoleState, error)
	// UpdateRecordingNonce is Update plus RecordNonceOnce, all or nothing;
	// store.ErrReplay when the nonce was already recorded.
	UpdateRecordingNonce(ctx context.Context, next store.RoleState, flow, nonce string) (store.RoleState, error)
	RecordNonceOnce(ctx context.Context, k store.Key, flow, nonce string) (bool, error)
	NonceExists(ctx context.Context, k store.Key, flow, nonce string) (bool, error)
	DeletePairNonces(ctx context.Context, k store.Key) error
	// DeleteOwnHSNoncesOlderThan prunes selfID's hs nonces only: each agent
	// prunes its own rows, so the cost does not grow with the fleet.
	DeleteOwnHSNoncesOlderThan(ctx context.Context, selfID string, age time.Duration) (int64, error)
	BumpCycles(ctx context.Context, k store.Key, at time.Time) (int64, error)
	// ApplySteps saves many conversations' steps in one transaction (the
	// engine's group commit; see store.Step).
	ApplySteps(ctx context.Context, steps []store.Step) ([]store.StepResult, error)
}

// AgentRegistry records this agent in the agents table for the operator.
type AgentRegistry interface {
	UpsertAgent(ctx context.Context, a store.Agent) error
	TouchAgent(ctx context.Context, selfID string, at time.Time) error
}

// flowHS is the nonce log flow of verified hs nonces, not cleared at the
// end of a cycle (protocol.FlowSent and FlowReceived are).
const flowHS = store.FlowHS

func rowFromStore(rs store.RoleState) protocol.Row {
	return protocol.Row{
		State:              protocol.State(rs.State),
		LocalNonce:         deref(rs.LocalNonce),
		PeerNonce:          deref(rs.PeerNonce),
		LocalRef:           deref(rs.LocalReference),
		PeerRef:            deref(rs.PeerReference),
		ExchangeCount:      rs.ExchangeCount,
		FinalizeRetryCount: rs.FinalizeRetryCount,
		PeerAddress:        deref(rs.PeerAddress),
		PeerSignPub:        deref(rs.PeerSignPub),
		PeerKxPub:          deref(rs.PeerKxPub),
		HSDerivedAt:        rs.HSDerivedAt,
		LastSecureAt:       rs.LastSecureAt,
	}
}

// rowToStore writes r's columns into the stored row rs, keeping its key
// and Version (the compare-and-set token).
func rowToStore(r protocol.Row, rs store.RoleState) store.RoleState {
	rs.State = string(r.State)
	rs.LocalNonce = ref(r.LocalNonce)
	rs.PeerNonce = ref(r.PeerNonce)
	rs.LocalReference = ref(r.LocalRef)
	rs.PeerReference = ref(r.PeerRef)
	rs.ExchangeCount = r.ExchangeCount
	rs.FinalizeRetryCount = r.FinalizeRetryCount
	rs.PeerAddress = ref(r.PeerAddress)
	rs.PeerSignPub = ref(r.PeerSignPub)
	rs.PeerKxPub = ref(r.PeerKxPub)
	rs.HSDerivedAt = r.HSDerivedAt
	rs.LastSecureAt = r.LastSecureAt
	return rs
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ref(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
