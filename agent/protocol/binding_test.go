package protocol

import (
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol/bind"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// bindWorld is a fleet-mode initiator a and responder b whose bundle
// gives both bind1 (binding required), as the operator writes it.
func bindWorld(t *testing.T, caps bool, extra ...*crypto.Identity) (*link, *trust.Policy) {
	t.Helper()
	a, b := mustIdentity(t, "a"), mustIdentity(t, "b")
	bundle := trust.Bundle{a.ID: a.SignPub(), b.ID: b.SignPub()}
	for _, id := range extra {
		bundle[id.ID] = id.SignPub()
	}
	policy := trust.NewPolicy(trust.Fleet, bundle)
	if caps {
		c := trust.Caps{}
		for id := range bundle {
			c[id] = []trust.Cap{trust.CapBind1}
		}
		policy.SetBundleCaps(bundle, c)
	}
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	ini := newSide(t, a, b.ID, Initiator, m, policy)
	resp := newSide(t, b, a.ID, Responder, m, policy)
	ini.env.requireBind = caps
	resp.env.requireBind = caps
	return &link{ini: ini, resp: resp}, policy
}

// pythonize turns what s sent into what the Python reference sends: no
// hs.bind, no mac, and a sealed plaintext of only {"message": …}.
func pythonize(s *side) func(map[string]any) {
	return func(p map[string]any) {
		delete(p, "mac")
		if hs, ok := p["hs"].(map[string]any); ok {
			delete(hs, bind.HSKey)
		}
		if _, ok := p["sec"]; ok {
			text := InitiatorText
			if p["intent"] == string(IntentRespond) {
				text = ResponderText
			}
			sec, err := crypto.SealSec(map[string]any{"message": text}, s.Mem.Session.Key, s.id.SignPriv, s.env.now)
			if err != nil {
				s.t.Fatal(err)
			}
			p["sec"] = sec
		}
	}
}

func TestBindingPeersCountVerifiedCyclesAndSendBindingFields(t *testing.T) {
	l, _ := bindWorld(t, true)
	seen := map[string]bool{}
	for c := 1; c <= 3; c++ {
		for steps := 0; steps < 200 && l.resp.cycles < c; steps++ {
			l.step(t, func(p map[string]any) {
				intent, _ := p["intent"].(string)
				switch Intent(intent) {
				case IntentConclude, IntentClose, IntentReconnect:
					if mac, _ := p["mac"].(string); len(mac) == 44 {
						seen[p["intent"].(string)] = true
					}
				case IntentRequest:
					if hs, ok := p["hs"].(map[string]any); ok && hs[bind.HSKey] != nil {
						seen["request bind"] = true
					}
				}
			})
		}
	}
	if l.ini.cycles != 3 || l.resp.cycles != 3 || l.ini.verified != 3 || l.resp.verified != 3 {
		t.Fatalf("cycles %d/%d, verified %d/%d; want 3 verified on both sides",
			l.ini.cycles, l.resp.cycles, l.ini.verified, l.resp.verified)
	}
	for _, k := range []string{string(IntentConclude), string(IntentClose), string(IntentReconnect), "request bind"} {
		if !seen[k] {
			t.Errorf("initiator never sent %s with its binding field", k)
		}
	}
}

func TestPythonPeerCyclesCountUnverified(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run("python "+who, func(t *testing.T) {
			// The mangled side stands in for the Python agent; only the
			// hsfleet side's counts are ours.
			l, _ := bindWorld(t, false)
			ours := l.resp
			if who == "initiator" {
				l.mangleIni = pythonize(l.ini)
			} else {
				l.mangleResp = pythonize(l.resp)
				ours = l.ini
			}
			l.runCycles(t, 2)
			if ours.cycles != 2 || ours.verified != 0 {
				t.Fatalf("hsfleet side counted %d cycles, %d verified; want 2 unverified", ours.cycles, ours.verified)
			}
		})
	}
}

func TestStrippedBindIsADowngradeWhenTheBundleSaysBind1(t *testing.T) {
	l, _ := bindWorld(t, true)
	l.mangleResp = pythonize(l.resp)
	_, confirm := l.resp.receive(register(l.ini.id.ID))
	l.mangle(l.mangleResp, confirm)
	res, _ := l.ini.receive(confirm[0])
	if res.Ignored != ReasonBindMissing || l.ini.Row.State != StateInitReady {
		t.Fatalf("stripped confirm: ignored %q, state %s; want %s in init_ready", res.Ignored, l.ini.Row.State, ReasonBindMissing)
	}
}

func TestReaddressedConfirmFailsItsBind(t *testing.T) {
	c := mustIdentity(t, "c")
	l, _ := bindWorld(t, false, c)
	y := l.resp // y answers c's register; the attacker re-addresses y's confirm to a
	yc := newSide(t, y.id, c.ID, Responder, y.m, trust.NewPolicy(trust.Open, nil))
	_, confirm := yc.receive(register(c.ID))
	confirm[0]["to"] = l.ini.id.ID
	res, _ := l.ini.receive(confirm[0])
	if res.Ignored != ReasonBindInvalid || l.ini.Row.State != StateInitReady || res.RecordHS != "" {
		t.Fatalf("re-addressed confirm: ignored %q, state %s; want %s in init_ready", res.Ignored, l.ini.Row.State, ReasonBindInvalid)
	}
}

// forgedMAC is a well-formed mac no key made.
var forgedMAC = strings.Repeat("A", 43) + "="

func TestForgedFinalizeLinesAreIgnored(t *testing.T) {
	l, _ := bindWorld(t, true)
	a, b := l.ini.id.ID, l.resp.id.ID
	// Forged conclude while the responder exchanges: no move to finalize.
	l.until(t, "responder exchanging", func() bool { return l.resp.Row.State == StateRespExchange })
	for _, mac := range []string{"", forgedMAC} {
		p := map[string]any{"to": b, "from": a, "intent": string(IntentConclude), "your_nonce": l.resp.Row.LocalNonce, "my_ref": "forged"}
		if mac != "" {
			p["mac"] = mac
		}
		res, _ := l.resp.receive(p)
		if want := map[string]Reason{"": ReasonMACMissing, forgedMAC: ReasonMACInvalid}[mac]; res.Ignored != want {
			t.Fatalf("forged conclude (mac %q): ignored %q, want %q", mac, res.Ignored, want)
		}
	}
	// Forged finish while the initiator proposes: not counted.
	l.until(t, "initiator proposing", func() bool { return l.ini.Row.State == StateInitPropose })
	res, _ := l.ini.receive(map[string]any{"to": a, "from": b, "intent": string(IntentFinish), "your_ref": l.ini.Row.LocalRef, "my_ref": "forged"})
	if res.Ignored != ReasonMACMissing || l.ini.cycles != 0 {
		t.Fatalf("forged finish: ignored %q, initiator cycles %d", res.Ignored, l.ini.cycles)
	}
	// Forged close and junk while the responder finalizes: neither counts
	// nor aborts the cycle.
	l.until(t, "responder finalizing", func() bool { return l.resp.Row.State == StateRespFinalize })
	for i := 0; i < 2*RespFinalLimit; i++ {
		if res, _ := l.resp.receive(map[string]any{"to": b, "from": a, "intent": string(IntentRequest), "your_nonce": "x", "my_nonce": crypto.NewNonce()}); res.Ignored == "" {
			t.Fatal("junk accepted in resp_finalize")
		}
	}
	res, _ = l.resp.receive(map[string]any{"to": b, "from": a, "intent": string(IntentClose), "your_ref": l.resp.Row.LocalRef, "my_ref": "forged"})
	if res.Ignored != ReasonMACMissing || l.resp.cycles != 0 || l.resp.Row.State != StateRespFinalize {
		t.Fatalf("forged close: ignored %q, responder cycles %d in %s", res.Ignored, l.resp.cycles, l.resp.Row.State)
	}
	l.runCycles(t, 1)
	if l.ini.verified != 1 || l.resp.verified != 1 {
		t.Fatalf("genuine cycle after the forgeries: verified %d/%d, want 1/1", l.ini.verified, l.resp.verified)
	}
	// Forged reconnect with the responder's reference: starts nothing.
	res, _ = l.resp.receive(map[string]any{"to": b, "from": a, "intent": string(IntentReconnect), "your_ref": l.resp.Row.LocalRef})
	if res.Ignored != ReasonMACMissing || l.resp.Row.State != StateRespReady {
		t.Fatalf("forged reconnect: ignored %q, state %s", res.Ignored, l.resp.Row.State)
	}
	l.runCycles(t, 2) // the genuine reconnect, queued, resumes the pair
	if l.resp.verified != 2 {
		t.Fatalf("second cycle: responder verified %d", l.resp.verified)
	}
}

func TestSecMovedOntoAForgedRequestIsRejected(t *testing.T) {
	l, _ := bindWorld(t, true)
	var lifted any
	for steps := 0; steps < 50 && l.resp.Row.ExchangeCount < 2; steps++ {
		l.step(t, func(p map[string]any) {
			if p["intent"] == string(IntentRequest) {
				lifted = p["sec"]
			}
		})
	}
	if l.resp.Row.State != StateRespExchange || lifted == nil {
		t.Fatalf("responder in %s", l.resp.Row.State)
	}
	res, _ := l.resp.receive(map[string]any{"to": l.resp.id.ID, "from": l.ini.id.ID, "intent": string(IntentRequest),
		"your_nonce": l.resp.Row.LocalNonce, "my_nonce": crypto.NewNonce(), "sec": lifted})
	if res.Ignored != ReasonBindMismatch {
		t.Fatalf("moved sec: ignored %q, want %s", res.Ignored, ReasonBindMismatch)
	}
}
