package protocol

import (
	"testing"
)

const (
	peerID = "11111111-2222-4333-8444-555555555555"
	selfID = "99999999-8888-4777-8666-555555555555"
)

func directed(intent Intent, kv ...string) Msg {
	m := Msg{Intent: intent, From: peerID, To: selfID, RemoteAddr: "127.0.0.1:9"}
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "your_nonce":
			m.YourNonce = kv[i+1]
		case "my_nonce":
			m.MyNonce = kv[i+1]
		case "your_ref":
			m.YourRef = kv[i+1]
		case "my_ref":
			m.MyRef = kv[i+1]
		}
	}
	return m
}

func broadcast(intent Intent) Msg {
	return Msg{Intent: intent, From: peerID, RemoteAddr: "127.0.0.1:9"}
}

// TestRouteAcceptRules covers every route of spec §3.5 without crypto
// (open mode, no hs): the echo, replay, finalize and reconnect rules and
// the counters.
func TestRouteAcceptRules(t *testing.T) {
	tests := []struct {
		name      string
		row       Row
		msg       Msg
		received  []string // nonces already in the received log
		sent      []string // nonces already in the sent log
		wantState State
		wantWhy   Reason   // Ignored reason, "" when accepted
		wantOut   []Intent // intents sent in reply
		check     func(t *testing.T, r Result)
	}{
		// responder: resp_ready --> resp_confirm
		{name: "register starts a cycle when we hold no reference",
			row: Row{State: StateRespReady}, msg: broadcast(IntentRegister),
			wantState: StateRespConfirm, wantOut: []Intent{IntentConfirm},
			check: func(t *testing.T, r Result) {
				if r.Row.LocalNonce == "" || r.RecordSent != r.Row.LocalNonce || r.Out[0].HSType != "response" {
					t.Fatalf("confirm must carry a fresh, logged nonce and hs response: %+v", r)
				}
			}},
		{name: "register is ignored while we keep the reconnect reference",
			row: Row{State: StateRespReady, LocalRef: "r2"}, msg: broadcast(IntentRegister),
			wantState: StateRespReady, wantWhy: ReasonRefMismatch},
		{name: "directed register is ignored",
			row: Row{State: StateRespReady}, msg: directed(IntentRegister),
			wantState: StateRespReady, wantWhy: ReasonWrongState},
		{name: "reconnect with our reference starts a cycle and clears it",
			row: Row{State: StateRespReady, LocalRef: "r2", PeerRef: "r1"}, msg: directed(IntentReconnect, "your_ref", "r2"),
			wantState: StateRespConfirm, wantOut: []Intent{IntentConfirm},
			check: func(t *testing.T, r Result) {
				if r.Row.LocalRef != "" || r.Row.PeerRef != "" {
					t.Fatalf("references kept: %+v", r.Row)
				}
			}},
		{name: "reconnect with another reference is ignored",
			row: Row{State: StateRespReady, LocalRef: "r2"}, msg: directed(IntentReconnect, "your_ref", "r9"),
			wantState: StateRespReady, wantWhy: ReasonRefMismatch},
		{name: "reconnect without a reference never matches a missing one",
			row: Row{State: StateRespReady}, msg: directed(IntentReconnect),
			wantState: StateRespReady, wantWhy: ReasonRefMismatch},
		{name: "request in resp_ready is not for this state",
			row: Row{State: StateRespReady}, msg: directed(IntentRequest, "your_nonce", "n1", "my_nonce", "n2"),
			wantState: StateRespReady, wantWhy: ReasonWrongState},

		// responder: resp_confirm --> resp_exchange
		{name: "first request echoing our nonce is accepted",
			row: Row{State: StateRespConfirm, LocalNonce: "n1"}, msg: directed(IntentRequest, "your_nonce", "n1", "my_nonce", "n2"),
			wantState: StateRespExchange, wantOut: []Intent{IntentRespond},
			check: func(t *testing.T, r Result) {
				if r.Row.PeerNonce != "n2" || r.Row.ExchangeCount != 1 || r.RecordReceived != "n2" {
					t.Fatalf("row %+v, recorded %q", r.Row, r.RecordReceived)
				}
				if r.Out[0].YourNonce != "n2" || r.Out[0].MyNonce == "n1" || r.Out[0].MyNonce == "" {
					t.Fatalf("respond must echo n2 with a fresh nonce: %+v", r.Out[0])
				}
				if r.Row.PeerAddress != "127.0.0.1:9" {
					t.Fatalf("peer_address not updated: %q", r.Row.PeerAddress)
				}
			}},
		{name: "request not echoing our nonce is ignored (echo rule)",
			row: Row{State: StateRespConfirm, LocalNonce: "n1"}, msg: directed(IntentRequest, "your_nonce", "nX", "my_nonce", "n2"),
			wantState: StateRespConfirm, wantWhy: ReasonEchoMismatch},
		{name: "replayed request is ignored (replay rule)",
			row: Row{State: StateRespConfirm, LocalNonce: "n1"}, msg: directed(IntentRequest, "your_nonce", "n1", "my_nonce", "n2"),
			received: []string{"n2"}, wantState: StateRespConfirm, wantWhy: ReasonReplay},
		{name: "request without my_nonce is ignored",
			row: Row{State: StateRespConfirm, LocalNonce: "n1"}, msg: directed(IntentRequest, "your_nonce", "n1"),
			wantState: StateRespConfirm, wantWhy: ReasonMissingField},
		{name: "broadcast request is ignored",
			row: Row{State: StateRespConfirm, LocalNonce: "n1"}, msg: broadcast(IntentRequest),
			wantState: StateRespConfirm, wantWhy: ReasonWrongState},

		// responder: resp_exchange --> resp_finalize
		{name: "next request continues the ping-pong",
			row:       Row{State: StateRespExchange, LocalNonce: "n3", PeerNonce: "n2", ExchangeCount: 1},
			msg:       directed(IntentRequest, "your_nonce", "n3", "my_nonce", "n4"),
			wantState: StateRespExchange, wantOut: []Intent{IntentRespond},
			check: func(t *testing.T, r Result) {
				if r.Row.ExchangeCount != 2 || r.Row.PeerNonce != "n4" {
					t.Fatalf("row %+v", r.Row)
				}
			}},
		{name: "replayed request in exchange is ignored",
			row: Row{State: StateRespExchange, LocalNonce: "n3"}, msg: directed(IntentRequest, "your_nonce", "n3", "my_nonce", "n2"),
			received: []string{"n2"}, wantState: StateRespExchange, wantWhy: ReasonReplay},
		{name: "conclude echoing our nonce moves to finalize and sends finish",
			row:       Row{State: StateRespExchange, LocalNonce: "n5", ExchangeCount: 4},
			msg:       directed(IntentConclude, "your_nonce", "n5", "my_ref", "r1"),
			wantState: StateRespFinalize, wantOut: []Intent{IntentFinish},
			check: func(t *testing.T, r Result) {
				if r.Row.PeerRef != "r1" || r.Row.ExchangeCount != 0 || r.Out[0].YourRef != "r1" || r.Out[0].MyRef == "" {
					t.Fatalf("row %+v out %+v", r.Row, r.Out)
				}
			}},
		{name: "conclude with a stale nonce is ignored (mode 1 stall guard)",
			row: Row{State: StateRespExchange, LocalNonce: "n7"}, msg: directed(IntentConclude, "your_nonce", "n5", "my_ref", "r1"),
			wantState: StateRespExchange, wantWhy: ReasonEchoMismatch},

		// responder: resp_finalize --> resp_ready
		{name: "close presenting our reference ends the cycle and keeps the reconnect token",
			row:       Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1", PeerNonce: "n5", FinalizeRetryCount: 2},
			msg:       directed(IntentClose, "your_ref", "r2", "my_ref", "r1"),
			wantState: StateRespReady,
			check: func(t *testing.T, r Result) {
				if !r.CycleDone || !r.DeletePairNonces || r.Row.LocalRef != "r2" || r.Row.PeerNonce != "" || r.Row.FinalizeRetryCount != 0 {
					t.Fatalf("result %+v", r)
				}
			}},
		{name: "close with a wrong reference is ignored",
			row: Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1"}, msg: directed(IntentClose, "your_ref", "r9", "my_ref", "r1"),
			wantState: StateRespFinalize, wantWhy: ReasonRefMismatch},
		{name: "another directed message repeats finish and counts",
			row:       Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1", FinalizeRetryCount: 5},
			msg:       directed(IntentConclude, "your_nonce", "n5", "my_ref", "r1"),
			wantState: StateRespFinalize, wantOut: []Intent{IntentFinish},
			check: func(t *testing.T, r Result) {
				if r.Row.FinalizeRetryCount != 6 {
					t.Fatalf("count %d, want 6", r.Row.FinalizeRetryCount)
				}
			}},
		{name: "more than 5 unrelated messages give the cycle up",
			row:       Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1", FinalizeRetryCount: 6},
			msg:       directed(IntentReconnect, "your_ref", "r2"),
			wantState: StateRespReady,
			check: func(t *testing.T, r Result) {
				if r.Row.LocalRef != "" || r.Row.PeerRef != "" || r.CycleDone {
					t.Fatalf("row %+v", r.Row)
				}
			}},
		{name: "register broadcasts do not count in finalize",
			row: Row{State: StateRespFinalize, LocalRef: "r2", FinalizeRetryCount: 1}, msg: broadcast(IntentRegister),
			wantState: StateRespFinalize, wantWhy: ReasonWrongState},

		// initiator: init_ready --> init_exchange
		{name: "confirm starts the initiator's cycle with hs on the request",
			row: Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2"}, msg: directed(IntentConfirm, "my_nonce", "n1"),
			wantState: StateInitExchange, wantOut: []Intent{IntentRequest},
			check: func(t *testing.T, r Result) {
				o := r.Out[0]
				if o.YourNonce != "n1" || o.HSType != "init" || o.MyNonce == "" || r.Row.ExchangeCount != 1 {
					t.Fatalf("out %+v row %+v", o, r.Row)
				}
				if r.Row.LocalRef != "" || r.Row.PeerRef != "" || r.RecordReceived != "n1" {
					t.Fatalf("confirm must clear both refs and log n1: %+v", r)
				}
			}},
		{name: "confirm without my_nonce is ignored",
			row: Row{State: StateInitReady}, msg: directed(IntentConfirm),
			wantState: StateInitReady, wantWhy: ReasonMissingField},
		{name: "broadcast confirm is ignored",
			row: Row{State: StateInitReady}, msg: broadcast(IntentConfirm),
			wantState: StateInitReady, wantWhy: ReasonWrongState},

		// initiator: init_exchange --> init_finalize_propose
		{name: "respond under the limit sends the next request",
			row:       Row{State: StateInitExchange, LocalNonce: "n2", PeerNonce: "n1", ExchangeCount: 2},
			msg:       directed(IntentRespond, "your_nonce", "n2", "my_nonce", "n3"),
			wantState: StateInitExchange, wantOut: []Intent{IntentRequest},
			check: func(t *testing.T, r Result) {
				if r.Row.ExchangeCount != 3 || r.Out[0].YourNonce != "n3" || r.Out[0].HSType != "" {
					t.Fatalf("row %+v out %+v", r.Row, r.Out)
				}
			}},
		{name: "respond past the exchange limit cuts to conclude",
			row:       Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n7", ExchangeCount: 4},
			msg:       directed(IntentRespond, "your_nonce", "n8", "my_nonce", "n9"),
			wantState: StateInitPropose, wantOut: []Intent{IntentConclude},
			check: func(t *testing.T, r Result) {
				o := r.Out[0]
				if o.YourNonce != "n9" || o.MyRef == "" || r.Row.FinalizeRetryCount != 1 || r.Row.LocalRef != o.MyRef {
					t.Fatalf("out %+v row %+v", o, r.Row)
				}
			}},
		{name: "respond not echoing our nonce is ignored",
			row: Row{State: StateInitExchange, LocalNonce: "n8"}, msg: directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n9"),
			wantState: StateInitExchange, wantWhy: ReasonEchoMismatch},
		{name: "replayed respond is ignored, its nonce kept for the timeout's conclude (§6.1 mode 2)",
			row: Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n5"}, msg: directed(IntentRespond, "your_nonce", "n8", "my_nonce", "n7"),
			received: []string{"n7"}, wantState: StateInitExchange, wantWhy: ReasonReplay,
			check: func(t *testing.T, r Result) { wantTimeoutConclude(t, r, "n7") }},
		{name: "respond echoing an older nonce we sent is ignored, its nonce kept for the timeout's conclude",
			row: Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n5"}, msg: directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n9"),
			sent: []string{"n6", "n8"}, wantState: StateInitExchange, wantWhy: ReasonEchoMismatch,
			check: func(t *testing.T, r Result) { wantTimeoutConclude(t, r, "n9") }},

		// initiator: init_finalize_propose --> (close) --> init_ready
		{name: "finish with our reference counts the cycle, sends close then reconnect",
			row:       Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9", FinalizeRetryCount: 2},
			msg:       directed(IntentFinish, "your_ref", "r1", "my_ref", "r2"),
			wantState: StateInitReady, wantOut: []Intent{IntentClose, IntentReconnect},
			check: func(t *testing.T, r Result) {
				if !r.CycleDone || !r.DeletePairNonces || r.Row.PeerRef != "r2" || r.Row.LocalRef != "r1" {
					t.Fatalf("result %+v", r)
				}
				if r.Out[0].YourRef != "r2" || r.Out[0].MyRef != "r1" || r.Out[1].YourRef != "r2" {
					t.Fatalf("finalize rule broken: %+v", r.Out)
				}
			}},
		{name: "finish with another reference is ignored",
			row: Row{State: StateInitPropose, LocalRef: "r1"}, msg: directed(IntentFinish, "your_ref", "r0", "my_ref", "r2"),
			wantState: StateInitPropose, wantWhy: ReasonRefMismatch},
		{name: "late respond echoing a nonce we sent is adopted for conclude (§6.1)",
			row:  Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9", FinalizeRetryCount: 3},
			msg:  directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n11"),
			sent: []string{"n6"}, wantState: StateInitPropose, wantOut: []Intent{IntentConclude},
			check: func(t *testing.T, r Result) {
				if r.Out[0].YourNonce != "n11" || r.Row.PeerNonce != "n11" {
					t.Fatalf("conclude must echo the adopted nonce: %+v", r.Out[0])
				}
			}},
		{name: "late respond repeating a nonce we already saw is adopted all the same (mode 2)",
			row:  Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9", FinalizeRetryCount: 3},
			msg:  directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n7"),
			sent: []string{"n6"}, received: []string{"n7"}, wantState: StateInitPropose, wantOut: []Intent{IntentConclude},
			check: func(t *testing.T, r Result) {
				if r.Out[0].YourNonce != "n7" || r.Row.PeerNonce != "n7" || r.RecordReceived != "" {
					t.Fatalf("conclude %+v, row %+v, records %q", r.Out[0], r.Row, r.RecordReceived)
				}
			}},
		{name: "late respond repeating the nonce conclude already echoes changes nothing",
			row: Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9"}, msg: directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n9"),
			sent: []string{"n6"}, received: []string{"n9"}, wantState: StateInitPropose, wantWhy: ReasonReplay},
		{name: "late respond echoing a nonce we never sent is ignored",
			row: Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9"}, msg: directed(IntentRespond, "your_nonce", "n6", "my_nonce", "n11"),
			wantState: StateInitPropose, wantWhy: ReasonEchoMismatch},
		{name: "fresh confirm mid-exchange follows the responder's new cycle",
			row:       Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n7", ExchangeCount: 3},
			msg:       directed(IntentConfirm, "my_nonce", "c2"),
			wantState: StateInitExchange, wantOut: []Intent{IntentRequest},
			check: func(t *testing.T, r Result) {
				if r.Out[0].YourNonce != "c2" || r.Out[0].HSType != "init" || r.Row.ExchangeCount != 1 || !r.DeletePairNonces {
					t.Fatalf("out %+v row %+v", r.Out[0], r.Row)
				}
			}},
		{name: "re-sent confirm of the current cycle is ignored mid-exchange",
			row: Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n7"}, msg: directed(IntentConfirm, "my_nonce", "c1"),
			received: []string{"c1"}, wantState: StateInitExchange, wantWhy: ReasonReplay},
		{name: "fresh confirm while waiting for finish restarts the cycle",
			row: Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9"}, msg: directed(IntentConfirm, "my_nonce", "c2"),
			wantState: StateInitExchange, wantOut: []Intent{IntentRequest}},
		{name: "stale init_finalize_close moves on once closes are used up",
			row: Row{State: StateInitClose, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 4}, msg: broadcast(IntentRegister),
			wantState: StateInitReady, wantOut: []Intent{IntentReconnect},
			check: func(t *testing.T, r Result) {
				if r.Row.PeerRef != "r2" || r.Row.LocalRef != "r1" {
					t.Fatalf("refs must be kept: %+v", r.Row)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newMemEnv(peerID, nil)
			for _, n := range tc.received {
				env.received[n] = true
			}
			for _, n := range tc.sent {
				env.sent[n] = true
			}
			res, err := Machine{}.OnMessage(tc.row, Mem{}, tc.msg, env)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ignored != tc.wantWhy {
				t.Fatalf("ignored = %q, want %q", res.Ignored, tc.wantWhy)
			}
			if res.Row.State != tc.wantState {
				t.Fatalf("state = %s, want %s", res.Row.State, tc.wantState)
			}
			if tc.wantWhy != "" && (res.Write || len(res.Out) > 0 || res.Row != tc.row) {
				t.Fatalf("an ignored message changed something: %+v", res)
			}
			var got []Intent
			for _, o := range res.Out {
				got = append(got, o.Intent)
			}
			if len(got) != len(tc.wantOut) {
				t.Fatalf("sent %v, want %v", got, tc.wantOut)
			}
			for i := range got {
				if got[i] != tc.wantOut[i] {
					t.Fatalf("sent %v, want %v", got, tc.wantOut)
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// wantTimeoutConclude checks that an exchange timeout after r concludes
// echoing nonce.
func wantTimeoutConclude(t *testing.T, r Result, nonce string) {
	t.Helper()
	if !r.KeepMem || r.Mem.LatestRespondNonce != nonce {
		t.Fatalf("latest respond nonce %q (kept %v), want %q", r.Mem.LatestRespondNonce, r.KeepMem, nonce)
	}
	res := Machine{}.Timeout(r.Row, r.Mem, newMemEnv(peerID, nil))
	if got := intents(res); !sameIntents(got, []Intent{IntentConclude}) || res.Out[0].YourNonce != nonce {
		t.Fatalf("timeout sent %v %+v, want conclude echoing %s", got, res.Out, nonce)
	}
}
