package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// A stored state that is not one of the role's (typo, another role's) is
// reset to the ready state at load, logged and counted; the conversation
// then runs instead of failing every step on it.
func TestLoadResetsAStateInvalidForTheRole(t *testing.T) {
	for _, tc := range []struct {
		role  protocol.Role
		state protocol.State
	}{
		{protocol.Responder, "resp_bogus"},
		{protocol.Responder, protocol.StateInitExchange},
		{protocol.Initiator, protocol.StateRespFinalize},
	} {
		t.Run(string(tc.role)+"/"+string(tc.state), func(t *testing.T) {
			e, cs, _, cancel := waitingConversation(t, time.Minute, tc.role, protocol.Row{State: tc.state, LocalNonce: "n1", PeerNonce: "n2"})
			defer cancel()
			k := store.Key{SelfID: e.self, Role: store.Role(tc.role), PeerID: "peer-b"}
			var rs store.RoleState
			for i := 0; ; i++ { // bounded: 5 s
				var err error
				if rs, err = cs.Store.GetOrCreate(context.Background(), k, "x"); err != nil {
					t.Fatal(err)
				}
				if rs.State == string(protocol.DefaultState(tc.role)) {
					break
				}
				if i == 500 {
					t.Fatalf("row still in %q, want %q", rs.State, protocol.DefaultState(tc.role))
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
	for _, s := range []protocol.State{protocol.StateInitReady, protocol.StateInitExchange, protocol.StateInitPropose, protocol.StateInitClose, protocol.StateRespReady, protocol.StateRespConfirm, protocol.StateRespExchange, protocol.StateRespFinalize} {
		if !s.Valid() || !s.ValidFor(protocol.RoleOfState(s)) {
			t.Errorf("state %q not valid", s)
		}
	}
	for _, bad := range []protocol.State{"", "init_readyx", "INIT_READY"} {
		if bad.Valid() {
			t.Errorf("state %q valid", bad)
		}
	}
	if protocol.StateInitReady.ValidFor(protocol.Responder) || protocol.StateRespReady.ValidFor(protocol.Initiator) {
		t.Error("a state is valid for the other role")
	}
	for _, i := range []protocol.Intent{protocol.IntentRegister, protocol.IntentReconnect, protocol.IntentConfirm, protocol.IntentRequest, protocol.IntentRespond, protocol.IntentConclude, protocol.IntentFinish, protocol.IntentClose} {
		if _, routed := protocol.RoleFor(i); !i.Valid() || !routed {
			t.Errorf("intent %q not valid or not routed", i)
		}
	}
	if protocol.Intent("hello").Valid() || protocol.Reason("nope").Valid() {
		t.Error("unknown intent or reason valid")
	}
	m := NewMetrics()
	for _, r := range protocol.Reasons() {
		if !r.Valid() {
			t.Errorf("reason %q not valid", r)
		}
		if got := metricValue(m.Ignored.WithLabelValues(string(r))); got != 0 {
			t.Errorf("reason %q starts at %v", r, got)
		}
	}
}
