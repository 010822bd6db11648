package kubetrust

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/hsfleet/hsfleet/agent/trust"
)

func newKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestMergeUnionsNamespacesAndRefusesConflicts(t *testing.T) {
	a, b, c, next := newKey(t), newKey(t), newKey(t), newKey(t)
	m := merge(map[string]nsBundle{
		"team-a": {keys: trust.Bundle{"alice": a, "shared": c, "rot": b}, extra: trust.ExtraKeys{"rot": {next}}},
		"team-b": {keys: trust.Bundle{"bob": b, "alice": b, "shared": c}},
	})
	if !m.keys["bob"].Equal(b) || !m.keys["shared"].Equal(c) || !m.keys["rot"].Equal(b) {
		t.Fatalf("merged keys: %v", m.keys)
	}
	if len(m.extra["rot"]) != 1 || !m.extra["rot"][0].Equal(next) {
		t.Fatalf("rotation overlap lost: %v", m.extra)
	}
	if _, ok := m.keys["alice"]; ok {
		t.Fatal("an ID two namespaces list with different keys was accepted")
	}
	if len(m.conflicts) != 1 || m.conflicts[0].ID != "alice" || len(m.conflicts[0].Namespaces) != 2 ||
		m.conflicts[0].Namespaces[0] != "team-a" || m.conflicts[0].Namespaces[1] != "team-b" {
		t.Fatalf("conflicts: %+v", m.conflicts)
	}
}

func TestMergeDifferentOverlapOrCapsIsAConflict(t *testing.T) {
	a, n := newKey(t), newKey(t)
	m := merge(map[string]nsBundle{
		"x": {keys: trust.Bundle{"id": a}, extra: trust.ExtraKeys{"id": {n}}},
		"y": {keys: trust.Bundle{"id": a}},
	})
	if _, ok := m.keys["id"]; ok || len(m.conflicts) != 1 {
		t.Fatalf("extra key added by one namespace accepted: %+v", m)
	}
	m = merge(map[string]nsBundle{
		"x": {keys: trust.Bundle{"id": a}, caps: trust.Caps{"id": {"bind1"}}},
		"y": {keys: trust.Bundle{"id": a}},
	})
	if _, ok := m.keys["id"]; ok {
		t.Fatal("caps added by one namespace accepted")
	}
}
