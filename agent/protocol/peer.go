package protocol

import (
	"context"
	"crypto/ecdh"
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// memEnv is an Env over an in-memory nonce log and the real crypto, for a
// conversation that needs no database (Peer, the machine's tests).
type memEnv struct {
	received, sent map[string]bool
	self, peer     string
	requireBind    bool
	policy         SignKeyChecker
	now            time.Time
}

func newMemEnv(peer string, policy SignKeyChecker) *memEnv {
	return &memEnv{received: map[string]bool{}, sent: map[string]bool{}, peer: peer, policy: policy,
		now: time.Now().UTC()}
}

func (e *memEnv) ReceivedBefore(n string) (bool, error) { return e.received[n], nil }
func (e *memEnv) SentBefore(n string) (bool, error)     { return e.sent[n], nil }
func (e *memEnv) VerifyHS(raw any, chk HSCheck) (*Session, error) {
	lookup := func(_ context.Context, n string) (bool, error) { return e.received[n], nil }
	return VerifyHandshake(context.Background(), raw, chk.Type, chk.Nonce, chk.Kx, chk.Pinned, e.peer, e.policy, lookup, e.now, chk.NotBefore)
}

// Add and Reset make memEnv's maps the side's nonce mirror (Result.Apply).
func (e *memEnv) Add(flow, nonce string) {
	if flow == FlowSent {
		e.sent[nonce] = true
	} else {
		e.received[nonce] = true
	}
}

func (e *memEnv) Reset()                                              { e.received, e.sent = map[string]bool{}, map[string]bool{} }
func (e *memEnv) OpenSec(raw any, s *Session) (map[string]any, error) { return OpenSec(raw, s) }
func (e *memEnv) NewNonce() string                                    { return crypto.NewNonce() }
func (e *memEnv) NewRef() string                                      { return crypto.NewReference() }
func (e *memEnv) NewEphemeral() (*ecdh.PrivateKey, error)             { return NewEphemeral() }
func (e *memEnv) Now() time.Time                                      { return e.now }
func (e *memEnv) Pair() (string, string)                              { return e.self, e.peer }
func (e *memEnv) RequiresBind() bool                                  { return e.requireBind }
func (e *memEnv) VerifyBoot(raw any, pinned string) (time.Time, error) {
	checker, _ := e.policy.(BootKeyChecker)
	return VerifyBootProof(raw, e.peer, pinned, checker)
}

// Peer is one conversation held in memory: what the runner keeps, minus
// the database (the nonce log is two maps), with the real crypto. Tests
// use it to play one side of a pair by hand, here against another Peer and
// in agent/engine against a real agent over the relay.
type Peer struct {
	id     *crypto.Identity
	peerID string
	m      Machine
	Conversation
	env    *memEnv
	cycles int
	// verified counts the cycles counted as verified.
	verified int
	notes    []Note
	seal     bool
}

// NewPeer is the conversation of id with peerID in role, in its ready
// state, sealing messages once it holds a key; policy checks the peer's
// keys (nil: any).
func NewPeer(id *crypto.Identity, peerID string, role Role, m Machine, policy SignKeyChecker) *Peer {
	s := &Peer{id: id, peerID: peerID, m: m,
		Conversation: Conversation{Row: Row{State: DefaultState(role)}},
		env:          newMemEnv(peerID, policy), seal: true}
	s.env.self = id.ID
	return s
}

// Apply does what the runner does with a Result (Result.Apply, the cycle
// count), and renders its outbound messages to the payloads a peer would
// receive.
func (s *Peer) Apply(res Result) ([]map[string]any, error) {
	res.Apply(&s.Conversation, s.env)
	if res.CycleDone {
		s.cycles++
		if res.Verified {
			s.verified++
		}
	}
	s.notes = append(s.notes, res.Notes...)
	var out []map[string]any
	for _, o := range res.Out {
		p, err := Render(o, s.id.ID, s.peerID, s.Mem, s.id,
			RenderOpts{Seal: s.seal, NoBinding: s.m.DisableBinding}, s.env.now)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", o.Intent, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Receive parses p as the receive hook would, steps the machine and
// applies the result.
func (s *Peer) Receive(p map[string]any) (Result, []map[string]any, error) {
	msg, err := ParseMsg(p, "127.0.0.1:1", s.id.ID)
	if err != nil {
		return Result{}, nil, fmt.Errorf("parse %v: %w", p["intent"], err)
	}
	res, err := s.m.OnMessage(s.Row, s.Mem, msg, s.env)
	if err != nil {
		return Result{}, nil, fmt.Errorf("OnMessage: %w", err)
	}
	out, err := s.Apply(res)
	return res, out, err
}

// Cycles is how many cycles the conversation completed.
func (s *Peer) Cycles() int { return s.cycles }
