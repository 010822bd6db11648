package store

import (
	"errors"
	"testing"
)

// An hs nonce counts once per agent: logged under one pair (Y's confirm to
// this agent as initiator), the same nonce in a step of any other pair or
// role of the same agent is a replay, on both commit paths (the batch
// statement and the per-step transaction). Another agent may log it.
func TestApplyStepsRejectsAnHSNonceSeenUnderAnotherPair(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		first := mustCreate(t, s, Key{SelfID: "self", Role: Initiator, PeerID: "y"})
		st := stepFor(first, "init_exchange")
		st.HSNonce = "h1"
		if res, err := s.ApplySteps(ctx, []Step{st}); err != nil || res[0].Err != nil {
			t.Fatalf("first hs: %v / %v", err, res[0].Err)
		}
		for _, k := range []Key{
			{SelfID: "self", Role: Initiator, PeerID: "c"},
			{SelfID: "self", Role: Responder, PeerID: "y"},
		} {
			rs := mustCreate(t, s, k)
			other := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "batch-" + k.PeerID + string(k.Role)})
			for name, steps := range map[string][]Step{
				"alone":    {withHS(stepFor(rs, "init_exchange"), "h1")},
				"in batch": {withHS(stepFor(rs, "init_exchange"), "h1"), stepFor(other, "resp_confirm")},
			} {
				res, err := s.ApplySteps(ctx, steps)
				if err != nil || !errors.Is(res[0].Err, ErrReplay) || res[0].ReplayFlow != FlowHS {
					t.Fatalf("%s %s: %v / %+v, want an hs replay", k.label(), name, err, res[0])
				}
				if len(res) > 1 {
					if res[1].Err != nil {
						t.Fatalf("%s: the other step failed: %v", name, res[1].Err)
					}
					other = res[1].Row
				}
			}
		}
		another := mustCreate(t, s, Key{SelfID: "other-agent", Role: Initiator, PeerID: "y"})
		if res, err := s.ApplySteps(ctx, []Step{withHS(stepFor(another, "init_exchange"), "h1")}); err != nil || res[0].Err != nil {
			t.Fatalf("another agent's hs: %v / %v", err, res[0].Err)
		}
	})
}

func withHS(st Step, nonce string) Step {
	st.HSNonce = nonce
	return st
}
