package engine

import (
	"context"
	"crypto/ecdh"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// memEnv is an Env over an in-memory nonce log and the real crypto, for
// state-machine tests that need no database.
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
	return verifyHSLazy(context.Background(), raw, chk.Type, chk.Nonce, chk.Kx, chk.Pinned, e.peer, e.policy, lookup, e.now, chk.NotBefore)
}

// add and reset make memEnv's maps the side's nonce mirror (Result.Apply).
func (e *memEnv) add(flow, nonce string) {
	if flow == flowSent {
		e.sent[nonce] = true
	} else {
		e.received[nonce] = true
	}
}

func (e *memEnv) reset()                                              { e.received, e.sent = map[string]bool{}, map[string]bool{} }
func (e *memEnv) OpenSec(raw any, s *Session) (map[string]any, error) { return openSec(raw, s) }
func (e *memEnv) NewNonce() string                                    { return crypto.NewNonce() }
func (e *memEnv) NewRef() string                                      { return crypto.NewReference() }
func (e *memEnv) NewEphemeral() (*ecdh.PrivateKey, error)             { return newEphemeral() }
func (e *memEnv) Now() time.Time                                      { return e.now }
func (e *memEnv) Pair() (string, string)                              { return e.self, e.peer }
func (e *memEnv) RequiresBind() bool                                  { return e.requireBind }
func (e *memEnv) VerifyBoot(raw any, pinned string) (time.Time, error) {
	checker, _ := e.policy.(bootKeyChecker)
	return verifyBootProof(raw, e.peer, pinned, checker)
}

// side is one conversation held in memory: what the runner keeps, minus the
// database.
type side struct {
	t      testing.TB
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

func newSide(t testing.TB, id *crypto.Identity, peerID string, role Role, m Machine, policy SignKeyChecker) *side {
	s := &side{t: t, id: id, peerID: peerID, m: m,
		Conversation: Conversation{row: Row{State: DefaultState(role)}},
		env:          newMemEnv(peerID, policy), seal: true}
	s.env.self = id.ID
	return s
}

// apply does what the runner does with a Result (Result.Apply, the cycle
// count), and renders its outbound messages to the payloads a peer would
// receive.
func (s *side) apply(res Result) []map[string]any {
	s.t.Helper()
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
		p, err := render(o, s.id.ID, s.peerID, s.mem, s.id,
			renderOpts{Seal: s.seal, NoBinding: s.m.DisableBinding}, s.env.now)
		if err != nil {
			s.t.Fatalf("render %s: %v", o.Intent, err)
		}
		out = append(out, p)
	}
	return out
}

// receive parses p as the receive hook would and steps the machine.
func (s *side) receive(p map[string]any) (Result, []map[string]any) {
	s.t.Helper()
	msg, err := ParseMsg(p, "127.0.0.1:1", s.id.ID)
	if err != nil {
		s.t.Fatalf("parse %v: %v", p["intent"], err)
	}
	res, err := s.m.OnMessage(s.row, s.mem, msg, s.env)
	if err != nil {
		s.t.Fatalf("OnMessage: %v", err)
	}
	return res, s.apply(res)
}

func (s *side) hasNote(msg string) int {
	n := 0
	for _, x := range s.notes {
		if x.Msg == msg {
			n++
		}
	}
	return n
}

func mustIdentity(t testing.TB, name string) *crypto.Identity {
	t.Helper()
	id, err := crypto.NewIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func register(from string) map[string]any {
	return map[string]any{"to": nil, "intent": string(IntentRegister), "from": from}
}
