package protocol

import "testing"

// Stall A (issue 12 item 7): a Python initiator's conclude echoes the nonce
// we had before a stray request made us rotate; any nonce we sent this
// cycle is accepted, so the cycle finalizes.
func TestResponderAcceptsAConcludeEchoingAnyNonceSentThisCycle(t *testing.T) {
	env := newMemEnv(peerID, nil)
	env.sent["n5"], env.sent["n7"] = true, true
	row := Row{State: StateRespExchange, LocalNonce: "n7", PeerNonce: "n6", ExchangeCount: 5}
	res, err := Machine{}.OnMessage(row, Mem{}, directed(IntentConclude, "your_nonce", "n5", "my_ref", "r1"), env)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != "" || res.Row.State != StateRespFinalize || res.Row.PeerRef != "r1" {
		t.Fatalf("ignored %q state %s row %+v", res.Ignored, res.Row.State, res.Row)
	}
	if got := intents(res); !sameIntents(got, []Intent{IntentFinish}) || res.Out[0].YourRef != "r1" {
		t.Fatalf("sent %v %+v, want finish to r1", got, res.Out)
	}
	// A request echoing an old nonce is still refused: only conclude ends
	// the ping-pong early.
	res, err = Machine{}.OnMessage(row, Mem{}, directed(IntentRequest, "your_nonce", "n5", "my_nonce", "n9"), env)
	if err != nil || res.Ignored != ReasonEchoMismatch {
		t.Fatalf("stale request: ignored %q, %v; want %q", res.Ignored, err, ReasonEchoMismatch)
	}
}

// A peer that never concludes is cut off after RespMaxExchanges requests:
// the responder gives the cycle up (and with it its cycle slot).
func TestResponderGivesUpAfterTheExchangeCap(t *testing.T) {
	env := newMemEnv(peerID, nil)
	row := Row{State: StateRespExchange, LocalNonce: "a0", PeerNonce: "b0", ExchangeCount: 1}
	for i := 0; ; i++ {
		msg := directed(IntentRequest, "your_nonce", row.LocalNonce, "my_nonce", "b"+string(rune('a'+i)))
		res, err := Machine{}.OnMessage(row, Mem{}, msg, env)
		if err != nil || res.Ignored != "" {
			t.Fatalf("request %d: ignored %q, %v", i, res.Ignored, err)
		}
		if res.RecordReceived != "" {
			env.received[res.RecordReceived] = true
		}
		if res.RecordSent != "" {
			env.sent[res.RecordSent] = true
		}
		row = res.Row
		if row.State == StateRespReady {
			if i+1 != RespMaxExchanges {
				t.Fatalf("gave up after %d requests, want %d", i+1, RespMaxExchanges)
			}
			if !res.DeletePairNonces || len(res.Out) != 0 || row.LocalNonce != "" || row.ExchangeCount != 0 {
				t.Fatalf("give-up result %+v", res)
			}
			return
		}
		if i > RespMaxExchanges {
			t.Fatalf("still in %s after %d requests", row.State, i+1)
		}
	}
}
