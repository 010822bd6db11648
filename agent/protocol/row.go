package protocol

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"time"
)

// Row is the protocol part of one role_state row. Optional text columns are
// "" for NULL: the reference never stores an empty nonce or reference.
type Row struct {
	State              State
	LocalNonce         string
	PeerNonce          string
	LocalRef           string
	PeerRef            string
	ExchangeCount      int
	FinalizeRetryCount int
	PeerAddress        string
	PeerSignPub        string // base64, pinned in TOFU mode
	PeerKxPub          string // base64 of the peer's hs kx_pub
	HSDerivedAt        *time.Time
	LastSecureAt       *time.Time
}

// wipe clears nonces, references and counters, as the reference does when
// a finalize step gives up.
func (r *Row) wipe() {
	r.LocalNonce, r.PeerNonce, r.LocalRef, r.PeerRef = "", "", "", ""
	r.ExchangeCount, r.FinalizeRetryCount = 0, 0
}

// Session is the per-(role, peer) symmetric key and the peer key that signs
// its envelopes. It lives in RAM only.
type Session struct {
	Key         []byte
	PeerSignPub ed25519.PublicKey
	PeerKxPub   []byte
}

// Mem is the RAM-only part of a conversation: nothing here survives a
// restart, by design (spec §3.6: keys are never persisted).
type Mem struct {
	Session *Session
	// Ephemeral is our X25519 key for the current cycle; its public half is
	// the kx_pub of every hs we send in the cycle.
	Ephemeral *ecdh.PrivateKey
	// HSOnRequest: the initiator has not had a respond yet this cycle, so
	// its request still carries hs (every re-send, not only the first, so a
	// lost first request does not leave the cycle without a key).
	HSOnRequest bool
	// CycleStart is when this side left its ready state.
	CycleStart time.Time
	// LatestRespondNonce (initiator) is the my_nonce of the latest respond
	// that echoed a nonce we sent, accepted or not: a responder whose
	// nonce went stale keeps re-sending an already-seen one (§6.1 mode 2),
	// and a conclude must echo that to be accepted.
	LatestRespondNonce string
	// InheritedRequest (initiator) is the my_nonce of the request a
	// previous process had out when it stopped in init_exchange (Resume).
	// A legacy responder answered it, perhaps while we were down, and
	// re-sends that respond until it gets a conclude echoing the respond's
	// nonce; its sec is sealed under the key that died with the process
	// (adoptLateRespond). Cleared when a cycle starts or ends.
	InheritedRequest string

	// Transcript binding (docs/protocol.md §7). PeerBinds: the peer's hs
	// this cycle carried a verified bind, so its sealed messages must
	// carry a matching hsf and its finalize messages a MAC under FinKey.
	PeerBinds bool
	// KeyConfirmed: a sealed message from the binding peer opened with a
	// matching hsf, so the peer holds this cycle's session key.
	KeyConfirmed bool
	// FinKey is this cycle's finalize key, derived whenever a session key
	// exists: we always send MACs (a peer that thinks we bind requires
	// them, and a legacy peer ignores them) but require them only from a
	// binding peer.
	FinKey []byte
	// ResumeKey is the finalize key of the last cycle that had one: it
	// authenticates the closes re-sent after the cycle and the reconnect
	// that resumes the pair. ResumeBinds: that cycle's peer was binding,
	// so a reconnect must carry its MAC.
	ResumeKey   []byte
	ResumeBinds bool
	// ConfirmEcho (responder) is the your_ref of the reconnect that
	// started this cycle, signed into the confirm's bind.
	ConfirmEcho string
	// ExchangeCap (responder) overrides RespMaxExchanges when > 0: the
	// conversation sets StrangerMaxExchanges for a peer that never
	// completed a cycle (agent/engine budget.go).
	ExchangeCap int
	// Inherited (responder): the current cycle was loaded mid-way from
	// the row of a previous process, without its keys (bootRestarts).
	Inherited bool
	// InheritedSavedAt (responder): when the previous process last saved
	// the row this conversation loaded; zero once a cycle of this process
	// starts or ends (bootRestarts).
	InheritedSavedAt time.Time
	// InheritedPeerRef (initiator): the peer reference ResumeBinding wiped
	// from the loaded row. The peer's next confirm may answer the
	// reconnect of that reference and sign it as its echo; without it the
	// confirm fails as bind_invalid. Cleared when a cycle starts or ends.
	InheritedPeerRef string
	// CycleNonces (responder) are the nonces we sent this cycle (confirm,
	// then one per accepted request: at most the exchange cap + 1), for
	// the tombstone of a cycle given up in resp_exchange.
	CycleNonces []string
	// Tombstone (responder) is the last legacy cycle given up in
	// resp_exchange, while its conclude may still come (tombstone.go).
	// It outlives endCycle: the peer's register starts a new cycle before
	// its conclude arrives.
	Tombstone *Tombstone
	// ClosesSent (initiator) counts the closes sent in init_ready since
	// the last finish (drive.go); RAM only, cleared when a cycle ends.
	ClosesSent int
}

// endCycle forgets the cycle's keys.
func (m *Mem) endCycle() {
	if m.Session != nil {
		m.ResumeKey, m.ResumeBinds = m.FinKey, m.PeerBinds && m.FinKey != nil
	}
	m.Session, m.Ephemeral, m.HSOnRequest = nil, nil, false
	m.LatestRespondNonce = ""
	m.InheritedRequest = ""
	m.PeerBinds, m.KeyConfirmed, m.FinKey, m.ConfirmEcho = false, false, nil, ""
	m.Inherited = false
	m.InheritedSavedAt = time.Time{}
	m.InheritedPeerRef = ""
	m.ClosesSent = 0
	m.CycleNonces = nil
}

// macKey is the key a finalize MAC is made or checked with: this cycle's,
// else the last binding cycle's; nil when the peer does not bind.
func (m Mem) macKey() []byte {
	if m.FinKey != nil {
		return m.FinKey
	}
	return m.ResumeKey
}
