package protocol

import "testing"

func intents(r Result) []Intent {
	var s []Intent
	for _, o := range r.Out {
		s = append(s, o.Intent)
	}
	return s
}

func sameIntents(a, b []Intent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryResendsWhatTheStateWaitsOn(t *testing.T) {
	tests := []struct {
		name    string
		row     Row
		mem     Mem
		wantOut []Intent
		check   func(t *testing.T, r Result)
	}{
		{"request is re-sent with the same nonce and counted",
			Row{State: StateInitExchange, LocalNonce: "n2", PeerNonce: "n1", ExchangeCount: 1}, Mem{HSOnRequest: true},
			[]Intent{IntentRequest}, func(t *testing.T, r Result) {
				if r.Out[0].MyNonce != "n2" || r.Row.ExchangeCount != 2 || r.Out[0].HSType != "init" || r.RecordSent != "" {
					t.Fatalf("out %+v row %+v", r.Out[0], r.Row)
				}
			}},
		{"confirm is re-sent with the same nonce",
			Row{State: StateRespConfirm, LocalNonce: "n1"}, Mem{}, []Intent{IntentConfirm},
			func(t *testing.T, r Result) {
				if r.Out[0].MyNonce != "n1" {
					t.Fatalf("out %+v", r.Out[0])
				}
			}},
		{"respond is re-sent with the same nonce",
			Row{State: StateRespExchange, LocalNonce: "n3", PeerNonce: "n2"}, Mem{}, []Intent{IntentRespond}, nil},
		{"conclude is re-sent and counted",
			Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n9", FinalizeRetryCount: 1}, Mem{}, []Intent{IntentConclude},
			func(t *testing.T, r Result) {
				if r.Row.FinalizeRetryCount != 2 || r.Out[0].MyRef != "r1" {
					t.Fatalf("row %+v", r.Row)
				}
			}},
		{"finish is re-sent with the same reference",
			Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1"}, Mem{}, []Intent{IntentFinish}, nil},
		{"close is repeated with reconnect while closes remain",
			Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 3}, Mem{},
			[]Intent{IntentClose, IntentReconnect}, nil},
		{"only reconnect once four closes went out",
			Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 4}, Mem{},
			[]Intent{IntentReconnect}, nil},
		{"closes after a finish are counted in RAM, not written",
			Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2"}, Mem{ClosesSent: 2},
			[]Intent{IntentClose, IntentReconnect}, func(t *testing.T, r Result) {
				if r.Write || r.Row.FinalizeRetryCount != 0 || r.Mem.ClosesSent != 3 {
					t.Fatalf("write %v, row count %d, closes sent %d; want no write, 0, 3",
						r.Write, r.Row.FinalizeRetryCount, r.Mem.ClosesSent)
				}
			}},
		{"only reconnect once this process sent four closes",
			Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2"}, Mem{ClosesSent: 4},
			[]Intent{IntentReconnect}, nil},
		{"idle initiator sends nothing",
			Row{State: StateInitReady}, Mem{}, nil, nil},
		{"idle responder sends nothing",
			Row{State: StateRespReady, LocalRef: "r2"}, Mem{}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Machine{}.Retry(tc.row, tc.mem, newMemEnv(peerID, nil))
			if got := intents(res); !sameIntents(got, tc.wantOut) {
				t.Fatalf("sent %v, want %v", got, tc.wantOut)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestTimeoutRecoversEveryWaitingState(t *testing.T) {
	tests := []struct {
		name      string
		row       Row
		wantState State
		wantOut   []Intent
		check     func(t *testing.T, r Result)
	}{
		{"stalled exchange concludes with the responder's latest nonce (§6.1)",
			Row{State: StateInitExchange, LocalNonce: "n8", PeerNonce: "n7", ExchangeCount: 9},
			StateInitPropose, []Intent{IntentConclude}, func(t *testing.T, r Result) {
				if r.Out[0].YourNonce != "n7" {
					t.Fatalf("conclude echoes %q, want n7", r.Out[0].YourNonce)
				}
			}},
		{"unanswered conclude gives the cycle up",
			Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n7"}, StateInitReady, nil,
			func(t *testing.T, r Result) {
				if r.Row != (Row{State: StateInitReady}) {
					t.Fatalf("row %+v", r.Row)
				}
			}},
		{"unanswered reconnect keeps the references for a responder that only answers reconnect",
			Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 4}, StateInitReady, nil,
			func(t *testing.T, r Result) {
				if r.Row != (Row{State: StateInitReady, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 4}) {
					t.Fatalf("row %+v", r.Row)
				}
				if !WaitsForPeer(r.Row) {
					t.Fatal("the initiator must keep re-sending reconnect")
				}
			}},
		{"stale init_finalize_close returns to ready keeping the references",
			Row{State: StateInitClose, LocalRef: "r1", PeerRef: "r2", FinalizeRetryCount: 4}, StateInitReady, []Intent{IntentReconnect}, nil},
		{"silent initiator in confirm returns the responder to ready",
			Row{State: StateRespConfirm, LocalNonce: "n1"}, StateRespReady, nil, nil},
		{"silent initiator in exchange returns the responder to ready",
			Row{State: StateRespExchange, LocalNonce: "n3", PeerNonce: "n2"}, StateRespReady, nil, nil},
		{"missing close returns the responder to ready without its reference",
			Row{State: StateRespFinalize, LocalRef: "r2", PeerRef: "r1"}, StateRespReady, nil,
			func(t *testing.T, r Result) {
				if r.Row.LocalRef != "" {
					t.Fatal("a kept reference would make the responder ignore register forever")
				}
			}},
		{"unused reconnect token expires so register works again",
			Row{State: StateRespReady, LocalRef: "r2"}, StateRespReady, nil,
			func(t *testing.T, r Result) {
				if r.Row.LocalRef != "" {
					t.Fatal("reference kept")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !WaitsForPeer(tc.row) {
				t.Fatalf("state %s with %+v has no timer", tc.row.State, tc.row)
			}
			// A binding (hsfleet) peer; TestLegacyResponderKeepsGettingConclude
			// covers a Python one.
			res := Machine{}.Timeout(tc.row, Mem{Session: &Session{}, PeerBinds: true}, newMemEnv(peerID, nil))
			// A timeout writes exactly when it changes the row.
			if res.Row.State != tc.wantState || res.Write != (res.Row != tc.row) {
				t.Fatalf("state %s (write %v), want %s", res.Row.State, res.Write, tc.wantState)
			}
			if got := intents(res); !sameIntents(got, tc.wantOut) {
				t.Fatalf("sent %v, want %v", got, tc.wantOut)
			}
			abandoned := res.Row.State == StateInitReady && res.Row.PeerRef == "" || res.Row.State == StateRespReady
			if res.DeletePairNonces != abandoned {
				t.Fatalf("DeletePairNonces = %v for a cycle abandoned: %v", res.DeletePairNonces, abandoned)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestResumeRestartsCyclesThatNeedLostKeys(t *testing.T) {
	tests := []struct {
		role      Role
		row       Row
		wantState State
		wantWrite bool
	}{
		{Initiator, Row{State: StateInitExchange, LocalNonce: "n"}, StateInitReady, true},
		{Initiator, Row{State: StateInitExchange, LocalNonce: "n2", PeerNonce: "n1"}, StateInitPropose, true},
		{Initiator, Row{State: StateInitPropose, LocalRef: "r"}, StateInitPropose, false},
		{Initiator, Row{State: StateInitReady, PeerRef: "r"}, StateInitReady, false},
		{Responder, Row{State: StateRespConfirm, LocalNonce: "n"}, StateRespReady, true},
		{Responder, Row{State: StateRespExchange, LocalNonce: "n"}, StateRespExchange, false},
		{Responder, Row{State: StateRespFinalize, LocalRef: "r"}, StateRespFinalize, false},
		{Responder, Row{State: "garbage"}, StateRespReady, true},
		{Initiator, Row{State: ""}, StateInitReady, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.role)+"/"+string(tc.row.State), func(t *testing.T) {
			res := Machine{}.Resume(tc.role, tc.row, Mem{})
			if res.Row.State != tc.wantState || res.Write != tc.wantWrite {
				t.Fatalf("state %s write %v, want %s %v", res.Row.State, res.Write, tc.wantState, tc.wantWrite)
			}
		})
	}
}

// An exchange cut short by a restart finalizes: the first re-send after
// resuming is conclude echoing the responder's stored nonce (§6.1), which
// a Python responder stuck in resp_exchange accepts.
func TestResumedExchangeConcludesWithTheStoredPeerNonce(t *testing.T) {
	m := Machine{}
	res := m.Resume(Initiator, Row{State: StateInitExchange, LocalNonce: "n2", PeerNonce: "n1", ExchangeCount: 3}, Mem{})
	if res.Row.LocalNonce != "" || res.Row.PeerNonce != "n1" || res.DeletePairNonces {
		t.Fatalf("resumed row %+v (delete nonces %v); want peer_nonce kept, local_nonce cleared, log kept", res.Row, res.DeletePairNonces)
	}
	next := m.Retry(res.Row, Mem{}, newMemEnv(peerID, nil))
	if got := intents(next); !sameIntents(got, []Intent{IntentConclude}) {
		t.Fatalf("sent %v, want conclude", got)
	}
	if o := next.Out[0]; o.YourNonce != "n1" || o.MyRef == "" || o.MyRef != next.Row.LocalRef || !next.Write {
		t.Fatalf("conclude %+v, row %+v", o, next.Row)
	}
}

// TestLegacyResponderKeepsGettingConclude: stall B (issue 12 item 7). A
// Python responder waits in resp_exchange forever, so an unanswered
// conclude to a peer that does not bind keeps the cycle and its conclude
// going; a later respond or finish still completes it.
func TestLegacyResponderKeepsGettingConclude(t *testing.T) {
	row := Row{State: StateInitPropose, LocalRef: "r1", PeerNonce: "n7", FinalizeRetryCount: 4}
	res := Machine{}.Timeout(row, Mem{Session: &Session{}}, newMemEnv(peerID, nil))
	if res.Row != row || res.Write || res.DeletePairNonces || !WaitsForPeer(res.Row) {
		t.Fatalf("legacy propose timeout: row %+v write %v clear %v", res.Row, res.Write, res.DeletePairNonces)
	}
	next := Machine{}.Retry(res.Row, res.Mem, newMemEnv(peerID, nil))
	if got := intents(next); !sameIntents(got, []Intent{IntentConclude}) || next.Out[0].YourNonce != "n7" {
		t.Fatalf("retry after the timeout sent %v", next.Out)
	}
}
