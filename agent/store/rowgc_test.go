package store

import (
	"errors"
	"testing"
)

// DeleteUnusedRole removes a row with no cycle at the version read, with
// its pair nonces; a row that counted a cycle, or was written since, stays.
func TestDeleteUnusedRole(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "invented"}
		rs, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordNonceOnce(ctx, k, "received", "n1"); err != nil {
			t.Fatal(err)
		}
		if gone, err := s.DeleteUnusedRole(ctx, k, rs.Version+1); err != nil || gone {
			t.Fatalf("stale version: deleted %v, err %v; want the row kept", gone, err)
		}
		if gone, err := s.DeleteUnusedRole(ctx, k, rs.Version); err != nil || !gone {
			t.Fatalf("deleted %v, err %v; want the row gone", gone, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after the delete: %v, want ErrNotFound", err)
		}
		if seen, err := s.NonceExists(ctx, k, "received", "n1"); err != nil || seen {
			t.Fatalf("pair nonce kept (%v, %v)", seen, err)
		}

		known := Key{SelfID: "self", Role: Responder, PeerID: "known"}
		rs, err = s.GetOrCreate(ctx, known, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.BumpCycles(ctx, known, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if gone, err := s.DeleteUnusedRole(ctx, known, rs.Version); err != nil || gone {
			t.Fatalf("a row with a cycle: deleted %v, err %v", gone, err)
		}
	})
}
