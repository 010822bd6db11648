package store

import (
	"errors"
	"testing"
	"time"
)

func TestHSNoncesSurviveDeletePairNonces(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		for _, flow := range []string{FlowSent, FlowReceived, FlowHS} {
			if isNew, err := s.RecordNonceOnce(ctx, k, flow, "n"); err != nil || !isNew {
				t.Fatalf("record %s: %v, %v", flow, isNew, err)
			}
		}
		if err := s.DeletePairNonces(ctx, k); err != nil {
			t.Fatal(err)
		}
		for flow, want := range map[string]bool{FlowSent: false, FlowReceived: false, FlowHS: true} {
			if got, err := s.NonceExists(ctx, k, flow, "n"); err != nil || got != want {
				t.Errorf("after end of cycle, %s nonce exists = %v, %v; want %v", flow, got, err, want)
			}
		}
		if isNew, err := s.RecordNonceOnce(ctx, k, FlowHS, "n"); err != nil || isNew {
			t.Errorf("hs nonce recorded again after the cycle ended: isNew=%v, %v", isNew, err)
		}
	})
}

func TestDeleteHSNoncesOlderThanPrunesOnlyOldHSRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		for _, flow := range []string{FlowHS, FlowReceived} {
			if _, err := s.RecordNonceOnce(ctx, k, flow, "old"); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(90 * time.Second)
		if _, err := s.RecordNonceOnce(ctx, k, FlowHS, "fresh"); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteHSNoncesOlderThan(ctx, 70*time.Second)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want 1", n, err)
		}
		for _, c := range []struct {
			flow, nonce string
			want        bool
		}{{FlowHS, "old", false}, {FlowHS, "fresh", true}, {FlowReceived, "old", true}} {
			if got, _ := s.NonceExists(ctx, k, c.flow, c.nonce); got != c.want {
				t.Errorf("after hs prune, %s %s exists = %v, want %v", c.flow, c.nonce, got, c.want)
			}
		}
		if _, err := s.DeleteHSNoncesOlderThan(ctx, -time.Second); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative age: %v, want ErrInvalid", err)
		}
	})
}
