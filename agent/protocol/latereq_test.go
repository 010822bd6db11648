package protocol

import (
	"maps"
	"testing"
)

// requestLostToATimeout runs a legacy (Python-like) initiator against our
// responder until the initiator's first request of a cycle is queued,
// holds it back and times the responder out in resp_confirm: stall A's
// resp_confirm shape. It returns the held request.
func requestLostToATimeout(t *testing.T) (*link, map[string]any) {
	t.Helper()
	l, _ := bindWorld(t, false)
	l.mangleIni = pythonize(l.ini)
	l.until(t, "initiator sends its first request", func() bool {
		return len(l.toResp) == 1 && l.toResp[0]["intent"] == string(IntentRequest)
	})
	request := l.toResp[0]
	l.toResp = nil
	if l.resp.Row.State != StateRespConfirm {
		t.Fatalf("responder in %s, want resp_confirm", l.resp.Row.State)
	}
	l.resp.apply(l.resp.m.Timeout(l.resp.Row, l.resp.Mem, l.resp.env))
	if l.resp.Row.State != StateRespReady || l.resp.Mem.Tombstone == nil {
		t.Fatalf("after the timeout: state %s, tombstone %+v", l.resp.Row.State, l.resp.Mem.Tombstone)
	}
	return l, request
}

// The Python initiator re-sends that request forever and ignores our new
// confirms; the tombstone answers it with a plaintext respond, and the
// conclude that follows finishes the cycle, unverified.
func TestTombstoneAnswersALateFirstRequest(t *testing.T) {
	for _, viaConfirm := range []bool{false, true} {
		name := "in resp_ready"
		if viaConfirm {
			name = "in resp_confirm, after the peer's register started a new cycle"
		}
		t.Run(name, func(t *testing.T) {
			l, request := requestLostToATimeout(t)
			resp := l.resp
			if viaConfirm {
				if _, out := resp.receive(register(l.ini.id.ID)); len(out) != 1 || resp.Row.State != StateRespConfirm {
					t.Fatalf("register: sent %v, state %s", out, resp.Row.State)
				}
			}
			state, row := resp.Row.State, resp.Row
			res, out := resp.receive(maps.Clone(request))
			if res.Ignored != "" || res.Write || len(out) != 1 || resp.Row != row {
				t.Fatalf("late request: ignored %q, write %v, sent %v, row %+v", res.Ignored, res.Write, out, resp.Row)
			}
			respond := out[0]
			answer, _ := respond["my_nonce"].(string)
			if respond["intent"] != string(IntentRespond) || respond["your_nonce"] != request["my_nonce"] ||
				answer == "" || respond["sec"] != nil || respond["message"] != ResponderText {
				t.Fatalf("respond %v does not answer request %v in plaintext", respond, request)
			}
			// A re-send of the same request gets the same answer; the
			// reference's re-sends carry no hs.
			resent := maps.Clone(request)
			delete(resent, "hs")
			if res, again := resp.receive(resent); res.Ignored != "" || len(again) != 1 || again[0]["my_nonce"] != answer {
				t.Fatalf("re-sent request: ignored %q, sent %v", res.Ignored, again)
			}
			conclude := map[string]any{"to": resp.id.ID, "from": l.ini.id.ID, "intent": string(IntentConclude),
				"your_nonce": answer, "my_ref": "4242424242"}
			res, out = resp.receive(conclude)
			if res.Ignored != "" || resp.Row.State != StateRespFinalize || len(out) != 1 {
				t.Fatalf("conclude from %s: ignored %q, state %s, sent %v", state, res.Ignored, resp.Row.State, out)
			}
			res, _ = resp.receive(pythonClose(t, conclude, out[0]))
			if !res.CycleDone || resp.cycles != 1 || resp.verified != 0 {
				t.Fatalf("close: done %v, cycles %d (verified %d); want one unverified", res.CycleDone, resp.cycles, resp.verified)
			}
		})
	}
}

// What the tombstone does not answer.
func TestTombstoneRequestExceptions(t *testing.T) {
	t.Run("after one state timeout", func(t *testing.T) {
		l, request := requestLostToATimeout(t)
		l.resp.env.now = l.resp.env.now.Add(DefaultStateTimeout)
		if res, out := l.resp.receive(request); res.Ignored != ReasonTombstoneExpired || len(out) != 0 || l.resp.Mem.Tombstone != nil {
			t.Fatalf("ignored %q, sent %v, tombstone %+v", res.Ignored, out, l.resp.Mem.Tombstone)
		}
	})
	t.Run("echoing a nonce the given-up cycle did not send", func(t *testing.T) {
		l, request := requestLostToATimeout(t)
		request["your_nonce"] = "00000000000000000000000000000000"
		if res, out := l.resp.receive(request); res.Ignored != ReasonEchoMismatch || len(out) != 0 {
			t.Fatalf("ignored %q, sent %v", res.Ignored, out)
		}
	})
	t.Run("a flood of requests with new nonces", func(t *testing.T) {
		l, request := requestLostToATimeout(t)
		answered := 0
		for i := range 3 * maxTombstoneNonces {
			forged := maps.Clone(request)
			forged["my_nonce"] = l.resp.env.NewNonce()
			if res, _ := l.resp.receive(forged); res.Ignored == "" {
				answered++
			} else if res.Ignored != ReasonWrongState {
				t.Fatalf("request %d: ignored %q", i, res.Ignored)
			}
		}
		if t0 := l.resp.Mem.Tombstone; answered == 0 || len(t0.Nonces) > maxTombstoneNonces {
			t.Fatalf("answered %d, tombstone holds %d nonces (max %d)", answered, len(t0.Nonces), maxTombstoneNonces)
		}
	})
}

// An hsfleet initiator binds its requests: it restarts on our next confirm
// and gets no plaintext answer.
func TestTombstoneIgnoresABindingRequest(t *testing.T) {
	l, _ := bindWorld(t, false)
	l.until(t, "initiator sends its first request", func() bool {
		return len(l.toResp) == 1 && l.toResp[0]["intent"] == string(IntentRequest)
	})
	request := l.toResp[0]
	l.resp.apply(l.resp.m.Timeout(l.resp.Row, l.resp.Mem, l.resp.env))
	if l.resp.Mem.Tombstone == nil {
		t.Fatal("no tombstone after a resp_confirm timeout (the peer had not bound yet)")
	}
	if res, out := l.resp.receive(request); res.Ignored != ReasonWrongState || len(out) != 0 {
		t.Fatalf("binding request: ignored %q, sent %v", res.Ignored, out)
	}
}
