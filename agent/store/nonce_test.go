package store

import (
	"errors"
	"testing"
	"time"
)

func TestRecordNonceOnceIsNewOnlyTheFirstTimePerPairAndFlow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		steps := []struct {
			name string
			k    Key
			flow string
			want bool
		}{
			{"first record", k, FlowReceived, true},
			{"same nonce again", k, FlowReceived, false},
			{"other flow is separate", k, FlowSent, true},
			{"other role is separate", Key{SelfID: "self", Role: Initiator, PeerID: "peer"}, FlowReceived, true},
			{"other peer is separate", Key{SelfID: "self", Role: Responder, PeerID: "peer2"}, FlowReceived, true},
			{"other self is separate", Key{SelfID: "self2", Role: Responder, PeerID: "peer"}, FlowReceived, true},
		}
		for _, st := range steps {
			isNew, err := s.RecordNonceOnce(ctx, st.k, st.flow, "n1")
			if err != nil || isNew != st.want {
				t.Fatalf("%s: RecordNonceOnce = %v, %v; want %v", st.name, isNew, err, st.want)
			}
			exists, err := s.NonceExists(ctx, st.k, st.flow, "n1")
			if err != nil || !exists {
				t.Fatalf("%s: NonceExists = %v, %v; want true", st.name, exists, err)
			}
		}
		if exists, err := s.NonceExists(ctx, k, FlowReceived, "never-seen"); err != nil || exists {
			t.Fatalf("NonceExists(unknown) = %v, %v; want false", exists, err)
		}
	})
}

func TestNonceOperationsRejectInvalidInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		cases := []struct {
			name        string
			k           Key
			flow, nonce string
		}{
			{"unknown flow", k, "echoed", "n"},
			{"empty nonce", k, FlowSent, ""},
			{"bad key", Key{SelfID: "self", Role: "x", PeerID: "peer"}, FlowSent, "n"},
			{"NUL nonce", k, FlowSent, "n\x00"},
		}
		for _, tc := range cases {
			if _, err := s.RecordNonceOnce(ctx, tc.k, tc.flow, tc.nonce); !errors.Is(err, ErrInvalid) {
				t.Errorf("RecordNonceOnce with %s: %v, want ErrInvalid", tc.name, err)
			}
			if _, err := s.NonceExists(ctx, tc.k, tc.flow, tc.nonce); !errors.Is(err, ErrInvalid) {
				t.Errorf("NonceExists with %s: %v, want ErrInvalid", tc.name, err)
			}
		}
		if _, err := s.DeleteNoncesOlderThan(ctx, -time.Second); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative TTL: %v, want ErrInvalid", err)
		}
	})
}

func TestDeletePairNoncesClearsOnlyThatConversation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		pair := Key{SelfID: "self", Role: Initiator, PeerID: "peer"}
		keep := []Key{
			{SelfID: "self", Role: Responder, PeerID: "peer"},
			{SelfID: "self", Role: Initiator, PeerID: "other"},
			{SelfID: "peer", Role: Initiator, PeerID: "self"},
		}
		for _, k := range append([]Key{pair}, keep...) {
			for _, flow := range []string{FlowSent, FlowReceived} {
				if _, err := s.RecordNonceOnce(ctx, k, flow, "n"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.DeletePairNonces(ctx, pair); err != nil {
			t.Fatal(err)
		}
		for _, flow := range []string{FlowSent, FlowReceived} {
			if ok, _ := s.NonceExists(ctx, pair, flow, "n"); ok {
				t.Errorf("%s nonce of the cleared pair survived", flow)
			}
			for _, k := range keep {
				if ok, err := s.NonceExists(ctx, k, flow, "n"); !ok || err != nil {
					t.Errorf("%s nonce of %s was deleted (%v)", flow, k.label(), err)
				}
			}
		}
		if isNew, _ := s.RecordNonceOnce(ctx, pair, FlowReceived, "n"); !isNew {
			t.Error("a cleared nonce is not new again; replay scope must be one cycle")
		}
	})
}

func TestDeleteNoncesOlderThanUsesRecordTime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "peer"}
		for _, n := range []string{"old1", "old2"} {
			if _, err := s.RecordNonceOnce(ctx, k, FlowReceived, n); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(90 * time.Second)
		if _, err := s.RecordNonceOnce(ctx, k, FlowReceived, "fresh"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Second)
		n, err := s.DeleteNoncesOlderThan(ctx, 60*time.Second)
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		for nonce, want := range map[string]bool{"old1": false, "old2": false, "fresh": true} {
			if got, _ := s.NonceExists(ctx, k, FlowReceived, nonce); got != want {
				t.Errorf("after TTL delete, %s exists = %v, want %v", nonce, got, want)
			}
		}
		if n, err := s.DeleteNoncesOlderThan(ctx, 60*time.Second); err != nil || n != 0 {
			t.Fatalf("second TTL delete removed %d, %v; want 0", n, err)
		}
	})
}
