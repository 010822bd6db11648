package protocol

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// concludeLostToATimeout runs a cycle between a Python-like initiator
// (pythonize: no bind, no mac) and our responder until the initiator
// concludes, holds that conclude back, and times the responder out in
// resp_exchange: stall A, second half. It returns the held conclude.
func concludeLostToATimeout(t *testing.T, caps bool, python bool) (*link, map[string]any) {
	t.Helper()
	l, _ := bindWorld(t, caps)
	if python {
		l.mangleIni = pythonize(l.ini)
	}
	l.until(t, "initiator concludes", func() bool { return l.ini.Row.State == StateInitPropose })
	if len(l.toResp) != 1 || l.toResp[0]["intent"] != string(IntentConclude) {
		t.Fatalf("queued for the responder: %v, want the conclude", l.toResp)
	}
	conclude := l.toResp[0]
	l.toResp = nil
	if l.resp.Row.State != StateRespExchange {
		t.Fatalf("responder in %s, want resp_exchange", l.resp.Row.State)
	}
	l.resp.apply(l.resp.m.Timeout(l.resp.Row, l.resp.Mem, l.resp.env))
	if l.resp.Row.State != StateRespReady {
		t.Fatalf("responder in %s after its timeout, want resp_ready", l.resp.Row.State)
	}
	return l, conclude
}

// pythonClose is the close a Python initiator sends once handle_finish
// accepted finish: it checks only that your_ref is its local_reference
// (the conclude's my_ref).
func pythonClose(t *testing.T, conclude, finish map[string]any) map[string]any {
	t.Helper()
	if finish["intent"] != string(IntentFinish) || finish["your_ref"] != conclude["my_ref"] || finish["my_ref"] == nil {
		t.Fatalf("finish %v does not answer conclude %v", finish, conclude)
	}
	return map[string]any{"to": finish["from"], "from": finish["to"], "intent": string(IntentClose),
		"your_ref": finish["my_ref"], "my_ref": conclude["my_ref"]}
}

func TestTombstoneFinishesALegacyCycleTheResponderGaveUp(t *testing.T) {
	for _, viaConfirm := range []bool{false, true} {
		name := "in resp_ready"
		if viaConfirm {
			name = "in resp_confirm, after the peer's register started a new cycle"
		}
		t.Run(name, func(t *testing.T) {
			l, conclude := concludeLostToATimeout(t, false, true)
			resp := l.resp
			if resp.Mem.Tombstone == nil || !resp.Mem.Tombstone.holds(conclude["your_nonce"].(string)) {
				t.Fatalf("tombstone %+v does not hold the concluded nonce", resp.Mem.Tombstone)
			}
			if viaConfirm {
				if _, out := resp.receive(register(l.ini.id.ID)); len(out) != 1 || resp.Row.State != StateRespConfirm {
					t.Fatalf("register: sent %v, state %s", out, resp.Row.State)
				}
			}
			res, out := resp.receive(maps.Clone(conclude))
			if res.Ignored != "" || resp.Row.State != StateRespFinalize || len(out) != 1 {
				t.Fatalf("late conclude: ignored %q, state %s, sent %v", res.Ignored, resp.Row.State, out)
			}
			if _, mac := out[0]["mac"]; mac || resp.Mem.Tombstone != nil || viaConfirm != res.DeletePairNonces {
				t.Fatalf("finish %v, tombstone %+v, log cleared %v", out[0], resp.Mem.Tombstone, res.DeletePairNonces)
			}
			res, _ = resp.receive(pythonClose(t, conclude, out[0]))
			if !res.CycleDone || resp.Row.State != StateRespReady || resp.cycles != 1 || resp.verified != 0 {
				t.Fatalf("close: done %v, state %s, cycles %d (verified %d); want one unverified",
					res.CycleDone, resp.Row.State, resp.cycles, resp.verified)
			}
			// One use: the same conclude again finds no tombstone.
			if res, _ := resp.receive(maps.Clone(conclude)); res.Ignored != ReasonWrongState {
				t.Fatalf("replayed conclude: ignored %q, want %q", res.Ignored, ReasonWrongState)
			}
		})
	}
}

func TestTombstoneLapsesAfterOneStateTimeout(t *testing.T) {
	l, conclude := concludeLostToATimeout(t, false, true)
	resp := l.resp
	resp.env.now = resp.env.now.Add(DefaultStateTimeout)
	res, _ := resp.receive(conclude)
	if res.Ignored != ReasonTombstoneExpired || resp.Row.State != StateRespReady || resp.Mem.Tombstone != nil {
		t.Fatalf("conclude at the deadline: ignored %q, state %s, tombstone %+v",
			res.Ignored, resp.Row.State, resp.Mem.Tombstone)
	}
	if res, _ := resp.receive(conclude); res.Ignored != ReasonWrongState {
		t.Fatalf("again: ignored %q, want %q", res.Ignored, ReasonWrongState)
	}
}

// A binding (hsfleet) initiator gets no tombstone: it restarts on our next
// confirm, and its MAC'd conclude is ignored after our timeout.
func TestNoTombstoneForABindingPeer(t *testing.T) {
	for _, caps := range []bool{false, true} {
		l, conclude := concludeLostToATimeout(t, caps, false)
		if l.resp.Mem.Tombstone != nil {
			t.Fatalf("caps %v: tombstone %+v for a binding peer", caps, l.resp.Mem.Tombstone)
		}
		if res, _ := l.resp.receive(conclude); res.Ignored != ReasonWrongState || l.resp.Row.State != StateRespReady {
			t.Fatalf("caps %v: conclude ignored %q, state %s", caps, res.Ignored, l.resp.Row.State)
		}
	}
}

// An attacker sees every nonce and can forge the conclude. It moves the
// responder to resp_finalize once; what follows is bounded as in any legacy
// cycle, counts nothing verified, and cannot be repeated.
func TestForgedConcludeUsesTheTombstoneOnce(t *testing.T) {
	l, conclude := concludeLostToATimeout(t, false, true)
	resp := l.resp
	forged := maps.Clone(conclude)
	forged["my_ref"] = "9999999999"
	if res, _ := resp.receive(maps.Clone(forged)); res.Ignored != "" || resp.Row.State != StateRespFinalize {
		t.Fatalf("forged conclude: ignored %q, state %s", res.Ignored, resp.Row.State)
	}
	// Further concludes, forged or honest, only count towards giving up.
	for i := 0; i <= RespFinalLimit+1; i++ {
		resp.receive(maps.Clone(conclude))
	}
	if resp.Row.State != StateRespReady || resp.cycles != 0 {
		t.Fatalf("after %d more concludes: state %s, cycles %d; want resp_ready, none", RespFinalLimit+2,
			resp.Row.State, resp.cycles)
	}
	if res, _ := resp.receive(forged); res.Ignored != ReasonWrongState || resp.Row.State != StateRespReady {
		t.Fatalf("second forged conclude: ignored %q, state %s", res.Ignored, resp.Row.State)
	}
}

func TestTombstoneIgnoresConcludesItCannotVouchFor(t *testing.T) {
	l, conclude := concludeLostToATimeout(t, false, true)
	resp := l.resp
	never := maps.Clone(conclude)
	never["your_nonce"] = resp.env.NewNonce()
	withMAC := maps.Clone(conclude)
	withMAC["mac"] = "AAAA"
	broadcast := maps.Clone(conclude)
	broadcast["to"] = nil
	for _, tc := range []struct {
		name string
		msg  map[string]any
		want Reason
	}{
		{"a nonce never sent", never, ReasonEchoMismatch},
		{"a MAC (an hsfleet initiator)", withMAC, ReasonWrongState},
		{"not directed to us", broadcast, ReasonWrongState},
	} {
		if res, _ := resp.receive(tc.msg); res.Ignored != tc.want || resp.Row.State != StateRespReady {
			t.Fatalf("%s: ignored %q, state %s; want %q", tc.name, res.Ignored, resp.Row.State, tc.want)
		}
	}
	// None of them used the tombstone up.
	if res, _ := resp.receive(conclude); res.Ignored != "" || resp.Row.State != StateRespFinalize {
		t.Fatalf("honest conclude afterwards: ignored %q, state %s", res.Ignored, resp.Row.State)
	}
}

// The peer answering our next confirm has left the old cycle: the
// tombstone goes.
func TestTombstoneDroppedWhenTheNextCycleRuns(t *testing.T) {
	l, _ := concludeLostToATimeout(t, false, true)
	_, confirm := l.resp.receive(register(l.ini.id.ID))
	if l.resp.Mem.Tombstone == nil {
		t.Fatal("tombstone dropped by our own confirm; the peer has not answered it")
	}
	_, request := l.ini.receive(confirm[0]) // restartOnConfirm
	if res, _ := l.resp.receive(request[0]); res.Ignored != "" || l.resp.Row.State != StateRespExchange {
		t.Fatalf("request: ignored %q, state %s", res.Ignored, l.resp.Row.State)
	}
	if l.resp.Mem.Tombstone != nil {
		t.Fatalf("tombstone %+v kept into a new exchange", l.resp.Mem.Tombstone)
	}
}

// Rule level: which timeouts leave a tombstone (a legacy cycle of this
// process given up in resp_confirm or resp_exchange).
func TestTimeoutTombstonesOnlyALegacyExchangeOfThisProcess(t *testing.T) {
	sent := []string{"c1", "n2", "n3"}
	row := Row{State: StateRespExchange, LocalNonce: "n3", PeerNonce: "p2", ExchangeCount: 2}
	bindEnv := newMemEnv(peerID, nil)
	bindEnv.requireBind = true
	for _, tc := range []struct {
		name string
		row  Row
		mem  Mem
		env  *memEnv
		want bool
	}{
		{"legacy exchange", row, Mem{CycleNonces: sent}, newMemEnv(peerID, nil), true},
		{"binding peer", row, Mem{CycleNonces: sent, PeerBinds: true}, newMemEnv(peerID, nil), false},
		{"peer that must bind", row, Mem{CycleNonces: sent}, bindEnv, false},
		{"cycle inherited from a previous process", row, Mem{CycleNonces: sent, Inherited: true}, newMemEnv(peerID, nil), false},
		{"resp_confirm", Row{State: StateRespConfirm, LocalNonce: "c1"}, Mem{CycleNonces: sent[:1]}, newMemEnv(peerID, nil), true},
		{"resp_finalize", Row{State: StateRespFinalize, PeerRef: "r1"}, Mem{CycleNonces: sent}, newMemEnv(peerID, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.mem.Tombstone = &Tombstone{Nonces: []string{"old"}, Deadline: tc.env.now.Add(time.Hour)}
			res := Machine{StateTimeout: 3 * time.Second}.Timeout(tc.row, tc.mem, tc.env)
			got := res.Mem.Tombstone
			if (got != nil) != tc.want {
				t.Fatalf("tombstone %+v, want one: %v", got, tc.want)
			}
			if got != nil && (!slices.Equal(got.Nonces, tc.mem.CycleNonces) || !got.holds("c1") ||
				!got.Deadline.Equal(tc.env.now.Add(3*time.Second))) {
				t.Fatalf("tombstone %+v", got)
			}
			if res.Mem.CycleNonces != nil || res.Row.State != StateRespReady {
				t.Fatalf("after the timeout: nonces %v, state %s", res.Mem.CycleNonces, res.Row.State)
			}
		})
	}
}
