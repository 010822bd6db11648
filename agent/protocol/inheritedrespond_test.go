package protocol

import "testing"

// The lost respond (docs/protocol.md §6.1): we stopped in init_exchange
// with request n2 out; the Python responder answered it with n3 while we
// were down and re-sends that respond, sealed under the key that died with
// us, until a conclude echoes n3. The resumed conclude echoes n1, which it
// ignores. In strict mode the respond's sec cannot be opened, and without a
// sent log (the default) n2 is not known as ours either: both must not
// strand the pair.
func TestResumedInitiatorAdoptsTheRespondToItsLostRequest(t *testing.T) {
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	env := newMemEnv(peerID, nil)
	resumed := m.Resume(Initiator, Row{State: StateInitExchange, LocalNonce: "n2", PeerNonce: "n1", ExchangeCount: 3}, Mem{})
	if resumed.Mem.InheritedRequest != "n2" {
		t.Fatalf("resume kept inherited request %q, want n2", resumed.Mem.InheritedRequest)
	}
	first := m.Retry(resumed.Row, resumed.Mem, env)
	if got := intents(first); !sameIntents(got, []Intent{IntentConclude}) || first.Out[0].YourNonce != "n1" {
		t.Fatalf("first re-send %v %+v, want conclude echoing n1", got, first.Out)
	}

	respond := directed(IntentRespond, "your_nonce", "n2", "my_nonce", "n3")
	respond.Sec = map[string]any{"ciphertext": "sealed under the lost key"}
	res, err := m.OnMessage(first.Row, first.Mem, respond, env)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != "" {
		t.Fatalf("respond to the inherited request ignored: %s", res.Ignored)
	}
	if got := intents(res); !sameIntents(got, []Intent{IntentConclude}) || res.Out[0].YourNonce != "n3" {
		t.Fatalf("sent %v %+v, want conclude echoing n3", got, res.Out)
	}
	if res.Row.PeerNonce != "n3" || res.RecordReceived != "n3" || res.Row.LocalRef != first.Row.LocalRef {
		t.Fatalf("row %+v records %q: want peer_nonce n3 logged and the same my_ref", res.Row, res.RecordReceived)
	}

	// The finish that follows completes the cycle, unverified.
	fin := directed(IntentFinish, "your_ref", res.Row.LocalRef, "my_ref", "pr")
	done, err := m.OnMessage(res.Row, res.Mem, fin, env)
	if err != nil {
		t.Fatal(err)
	}
	if !done.CycleDone || done.Verified || done.Mem.InheritedRequest != "" {
		t.Fatalf("finish: done %v verified %v inherited %q", done.CycleDone, done.Verified, done.Mem.InheritedRequest)
	}
}

// Only the inherited request, only without a key, only from a legacy peer:
// everything else still needs the sent log and an opened sec.
func TestInheritedRespondExceptions(t *testing.T) {
	strict := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	row := Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n1"}
	sealed := func(your, my string) Msg {
		msg := directed(IntentRespond, "your_nonce", your, "my_nonce", my)
		msg.Sec = map[string]any{"ciphertext": "x"}
		return msg
	}
	tests := []struct {
		name        string
		mem         Mem
		msg         Msg
		requireBind bool
		sent        []string
		want        Reason
	}{
		{name: "a nonce other than the inherited request", mem: Mem{InheritedRequest: "n2"},
			msg: sealed("n5", "n3"), want: ReasonEchoMismatch},
		{name: "a peer that must bind", mem: Mem{InheritedRequest: "n2"}, requireBind: true,
			msg: sealed("n2", "n3"), want: ReasonEchoMismatch},
		{name: "a session exists: the sec must open", mem: Mem{InheritedRequest: "n2", Session: &Session{}},
			msg: sealed("n2", "n3"), sent: []string{"n2"}, want: ReasonSecInvalid},
		{name: "nothing inherited", msg: sealed("n2", "n3"), want: ReasonEchoMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(peerID, nil)
			env.requireBind = tc.requireBind
			for _, n := range tc.sent {
				env.sent[n] = true
			}
			res, err := strict.OnMessage(row, tc.mem, tc.msg, env)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ignored != tc.want || res.Row != row || len(res.Out) > 0 {
				t.Fatalf("ignored %q (want %q), row %+v, out %v", res.Ignored, tc.want, res.Row, res.Out)
			}
		})
	}
}

// A confirm starting a new cycle forgets the inherited request.
func TestNewCycleForgetsTheInheritedRequest(t *testing.T) {
	m := Machine{}
	row := Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n1"}
	res, err := m.OnMessage(row, Mem{InheritedRequest: "n2"}, directed(IntentConfirm, "my_nonce", "c2"), newMemEnv(peerID, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != "" || res.Mem.InheritedRequest != "" {
		t.Fatalf("confirm: ignored %q, inherited request %q", res.Ignored, res.Mem.InheritedRequest)
	}
}
