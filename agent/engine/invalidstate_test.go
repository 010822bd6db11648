package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// A stored state that is not one of the role's (typo, another role's) is
// reset to the ready state at load, logged and counted; the conversation
// then runs instead of failing every step on it.
func TestLoadResetsAStateInvalidForTheRole(t *testing.T) {
	for _, tc := range []struct {
		role  Role
		state State
	}{
		{Responder, "resp_bogus"},
		{Responder, StateInitExchange},
		{Initiator, StateRespFinalize},
	} {
		t.Run(string(tc.role)+"/"+string(tc.state), func(t *testing.T) {
			e, cs, _, cancel := waitingConversation(t, time.Minute, tc.role,
				Row{State: tc.state, LocalNonce: "n1", PeerNonce: "n2"})
			defer cancel()
			k := store.Key{SelfID: e.self, Role: store.Role(tc.role), PeerID: "peer-b"}
			var rs store.RoleState
			for i := 0; ; i++ { // bounded: 5 s
				var err error
				if rs, err = cs.Store.GetOrCreate(context.Background(), k, "x"); err != nil {
					t.Fatal(err)
				}
				if rs.State == string(DefaultState(tc.role)) {
					break
				}
				if i == 500 {
					t.Fatalf("row still in %q, want %q", rs.State, DefaultState(tc.role))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if rs.LocalNonce != nil || rs.PeerNonce != nil {
				t.Fatalf("reset row kept nonces %v %v", deref(rs.LocalNonce), deref(rs.PeerNonce))
			}
			if got := metricValue(e.m.InvalidStates.WithLabelValues(string(tc.role))); got != 1 {
				t.Fatalf("invalid_states_total{role=%s} = %v, want 1", tc.role, got)
			}
		})
	}
}

func TestTypedValuesValid(t *testing.T) {
	for _, s := range []State{StateInitReady, StateInitExchange, StateInitPropose, StateInitClose,
		StateRespReady, StateRespConfirm, StateRespExchange, StateRespFinalize} {
		if !s.Valid() || !s.ValidFor(RoleOfState(s)) {
			t.Errorf("state %q not valid", s)
		}
	}
	for _, bad := range []State{"", "init_readyx", "INIT_READY"} {
		if bad.Valid() {
			t.Errorf("state %q valid", bad)
		}
	}
	if StateInitReady.ValidFor(Responder) || StateRespReady.ValidFor(Initiator) {
		t.Error("a state is valid for the other role")
	}
	for _, i := range []Intent{IntentRegister, IntentReconnect, IntentConfirm, IntentRequest,
		IntentRespond, IntentConclude, IntentFinish, IntentClose} {
		if _, routed := RoleFor(i); !i.Valid() || !routed {
			t.Errorf("intent %q not valid or not routed", i)
		}
	}
	if Intent("hello").Valid() || Reason("nope").Valid() {
		t.Error("unknown intent or reason valid")
	}
	m := NewMetrics()
	for _, r := range reasons {
		if !r.Valid() {
			t.Errorf("reason %q not valid", r)
		}
		if got := metricValue(m.Ignored.WithLabelValues(string(r))); got != 0 {
			t.Errorf("reason %q starts at %v", r, got)
		}
	}
}
