package relay

import (
	"crypto/ed25519"
	"os"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// writeOverlapBundle writes a bundle whose id lists primary first and also
// accepts others (a key rotation's overlap, docs/rotation.md).
func writeOverlapBundle(t *testing.T, path, id string, primary ed25519.PrivateKey, others ...ed25519.PrivateKey) {
	t.Helper()
	b := trust.Bundle{id: primary.Public().(ed25519.PublicKey)}
	extra := trust.ExtraKeys{}
	for _, o := range others {
		extra[id] = append(extra[id], o.Public().(ed25519.PublicKey))
	}
	data, err := b.MarshalKeys(nil, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// During a rotation both keys prove the ID: the pod with the new key
// authenticates while the old one is still connected, the old connection
// survives the swap of primary keys, and ends only when its key retires.
func TestAuthAcceptsBothKeysDuringRotation(t *testing.T) {
	old := newTestAgent(t, "alice-0001")
	next := newTestAgent(t, "alice-0001")
	s, path := startAuthServer(t, ServerConfig{}, old)
	a := dialRaw(t, s.Addr())
	a.authenticate(old)

	writeOverlapBundle(t, path, old.id, old.priv, next.priv) // publish
	eventually(t, "overlap loaded", func() bool { return len(s.trust.Keys(old.id)) == 2 })
	n := dialRaw(t, s.Addr())
	n.authenticate(next)

	writeOverlapBundle(t, path, old.id, next.priv, old.priv) // swap
	eventually(t, "swap loaded", func() bool { return s.trust.Keys(old.id)[0].Equal(next.priv.Public()) })
	a.expectSilence(50 * time.Millisecond)

	writeBundle(t, path, next) // retire
	if got := a.expectEOF(); len(got) != 1 || got[0] != WarnBundleChanged {
		t.Fatalf("old-key connection got %q, want the bundle changed warning", got)
	}
	n.expectSilence(50 * time.Millisecond)
	if got := metricValue(t, s.metrics.authAttempts.WithLabelValues(authResultBadSignature)); got != 0 {
		t.Errorf("bad_signature refusals = %v, want 0", got)
	}
}
