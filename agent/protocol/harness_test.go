package protocol

import (
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// side is a Peer that fails the test on an error.
type side struct {
	t testing.TB
	*Peer
}

func newSide(t testing.TB, id *crypto.Identity, peerID string, role Role, m Machine, policy SignKeyChecker) *side {
	return &side{t: t, Peer: NewPeer(id, peerID, role, m, policy)}
}

// apply is Peer.Apply.
func (s *side) apply(res Result) []map[string]any {
	s.t.Helper()
	out, err := s.Apply(res)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// receive is Peer.Receive.
func (s *side) receive(p map[string]any) (Result, []map[string]any) {
	s.t.Helper()
	res, out, err := s.Receive(p)
	if err != nil {
		s.t.Fatal(err)
	}
	return res, out
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
