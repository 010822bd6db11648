package protocol

import (
	"bytes"
	"testing"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// link delivers messages between an initiator and a responder machine in
// order, as one relay does.
type link struct {
	ini, resp     *side
	toResp, toIni []map[string]any
	registers     int
	// mangleIni / mangleResp, when set, rewrite what that side sends
	// (e.g. into what a Python peer would send).
	mangleIni, mangleResp func(map[string]any)
}

// runCycles steps until the responder has counted cycles, and returns the
// intents the initiator sent meanwhile.
func (l *link) runCycles(t *testing.T, cycles int) map[string]int {
	t.Helper()
	sent := map[string]int{}
	for steps := 0; steps < 200 && l.resp.cycles < cycles; steps++ {
		l.step(t, func(out map[string]any) { sent[out["intent"].(string)]++ })
	}
	return sent
}

// step delivers the next queued message (a register first when nothing
// is queued); sentByIni sees each message the initiator sends.
func (l *link) step(t *testing.T, sentByIni func(map[string]any)) {
	t.Helper()
	if len(l.toResp)+len(l.toIni) == 0 && l.registers == 0 {
		_, l.toIni = l.resp.receive(register(l.ini.id.ID))
		l.mangle(l.mangleResp, l.toIni)
		l.registers++
		return
	}
	if len(l.toIni) > 0 {
		p := l.toIni[0]
		l.toIni = l.toIni[1:]
		_, out := l.ini.receive(p)
		l.mangle(l.mangleIni, out)
		for _, o := range out {
			if sentByIni != nil {
				sentByIni(o)
			}
		}
		l.toResp = append(l.toResp, out...)
		return
	}
	if len(l.toResp) == 0 {
		t.Fatalf("conversation stalled: initiator %s, responder %s", l.ini.Row.State, l.resp.Row.State)
	}
	p := l.toResp[0]
	l.toResp = l.toResp[1:]
	_, out := l.resp.receive(p)
	l.mangle(l.mangleResp, out)
	l.toIni = append(l.toIni, out...)
}

// until steps until done reports true.
func (l *link) until(t *testing.T, what string, done func() bool) {
	t.Helper()
	for steps := 0; !done(); steps++ {
		if steps > 200 {
			t.Fatalf("%s: not reached (initiator %s, responder %s)", what, l.ini.Row.State, l.resp.Row.State)
		}
		l.step(t, nil)
	}
}

func (l *link) mangle(f func(map[string]any), out []map[string]any) {
	if f == nil {
		return
	}
	for _, p := range out {
		f(p)
	}
}

func TestMachinesCompleteCyclesAndReconnect(t *testing.T) {
	a, b := mustIdentity(t, "a"), mustIdentity(t, "b")
	bundle := trust.Bundle{a.ID: a.SignPub(), b.ID: b.SignPub()}
	policy := trust.NewPolicy(trust.Fleet, bundle)
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	ini := newSide(t, a, b.ID, Initiator, m, policy)
	resp := newSide(t, b, a.ID, Responder, m, policy)

	var keys [][]byte
	l := &link{ini: ini, resp: resp}
	for c := 1; c <= 3; c++ {
		sent := l.runCycles(t, c)
		if ini.cycles != c || resp.cycles != c {
			t.Fatalf("after cycle %d: initiator counted %d, responder %d", c, ini.cycles, resp.cycles)
		}
		if sent[string(IntentRequest)] != 4 {
			t.Fatalf("cycle %d: %d requests, want 4 (cut after exchange_count > 3)", c, sent[string(IntentRequest)])
		}
		if sent[string(IntentConclude)] != 1 || sent[string(IntentClose)] != 1 {
			t.Fatalf("cycle %d: sent %v, want one conclude and one close", c, sent)
		}
		if sent[string(IntentReconnect)] != 1 {
			t.Fatalf("cycle %d: sent %v, want reconnect right after close (fast path)", c, sent)
		}
		if l.registers != 1 {
			t.Fatalf("cycle %d needed %d registers; later cycles must start through reconnect", c, l.registers)
		}
		if resp.Row.State != StateRespConfirm && resp.Row.State != StateRespReady {
			t.Fatalf("responder in %s after cycle", resp.Row.State)
		}
	}
	for _, n := range ini.notes {
		if n.Msg == "sym_key" {
			keys = append(keys, []byte(n.Attrs[3].(string)))
		}
	}
	if got := resp.hasNote("opened message"); got != 12 {
		t.Fatalf("responder opened %d envelopes, want 12 (4 per cycle)", got)
	}
	if got := ini.hasNote("opened message"); got != 12 {
		t.Fatalf("initiator opened %d envelopes, want 12", got)
	}
	if len(keys) != 3 {
		t.Fatalf("initiator derived %d keys, want one per cycle", len(keys))
	}
	if bytes.Equal(keys[0], keys[1]) || bytes.Equal(keys[1], keys[2]) {
		t.Fatal("session key repeated across cycles: ephemeral kx not fresh per cycle")
	}
	if resp.hasNote("CLOSE SUCCESS") != 3 {
		t.Fatalf("CLOSE SUCCESS logged %d times, want 3", resp.hasNote("CLOSE SUCCESS"))
	}
}

func TestForgedHandshakeIsRejectedInFleetModeAndAcceptedInOpenMode(t *testing.T) {
	a, b, mallory := mustIdentity(t, "a"), mustIdentity(t, "b"), mustIdentity(t, "m")
	// mallory claims a's ID but signs with its own key.
	mallory.ID = a.ID
	bundle := trust.Bundle{a.ID: a.SignPub(), b.ID: b.SignPub()}
	tests := []struct {
		name      string
		policy    *trust.Policy
		strict    bool
		wantState State
		wantWhy   Reason
	}{
		{"fleet rejects an hs whose key is not the bundle's", trust.NewPolicy(trust.Fleet, bundle), true, StateRespConfirm, ReasonHSInvalid},
		{"open accepts it and goes on", trust.NewPolicy(trust.Open, nil), false, StateRespExchange, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Machine{Policy: Policy{Strict: tc.strict, RequireSealed: tc.strict}}
			forger := newSide(t, mallory, b.ID, Initiator, m, trust.NewPolicy(trust.Open, nil))
			resp := newSide(t, b, a.ID, Responder, m, tc.policy)
			_, confirm := resp.receive(register(a.ID))
			_, req := forger.receive(confirm[0])
			res, _ := resp.receive(req[0])
			if res.Ignored != tc.wantWhy {
				t.Fatalf("ignored = %q, want %q", res.Ignored, tc.wantWhy)
			}
			if resp.Row.State != tc.wantState {
				t.Fatalf("state = %s, want %s", resp.Row.State, tc.wantState)
			}
		})
	}
}

func TestTamperedEnvelope(t *testing.T) {
	a, b := mustIdentity(t, "a"), mustIdentity(t, "b")
	tests := []struct {
		name       string
		strict     bool
		wantReason Reason
		wantState  State
	}{
		{"strict mode rejects a sec that fails to open", true, ReasonSecInvalid, StateInitExchange},
		{"open mode logs it and goes on", false, "", StateInitExchange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Machine{Policy: Policy{Strict: tc.strict, RequireSealed: tc.strict}}
			policy := trust.NewPolicy(trust.Open, nil)
			ini := newSide(t, a, b.ID, Initiator, m, policy)
			resp := newSide(t, b, a.ID, Responder, m, policy)
			_, confirm := resp.receive(register(a.ID))
			_, req := ini.receive(confirm[0])
			_, respond := resp.receive(req[0])
			sec := respond[0]["sec"].(map[string]any)
			env := sec["envelope"].(map[string]any)
			env["ciphertext"] = "AAAA" + env["ciphertext"].(string)[4:]
			before := ini.Row.ExchangeCount
			res, _ := ini.receive(respond[0])
			if res.Ignored != tc.wantReason {
				t.Fatalf("ignored = %q, want %q", res.Ignored, tc.wantReason)
			}
			if ini.Row.State != tc.wantState {
				t.Fatalf("state %s, want %s", ini.Row.State, tc.wantState)
			}
			if tc.strict && ini.Row.ExchangeCount != before {
				t.Fatal("a rejected respond changed the row")
			}
			if ini.hasNote("decrypt/verify failed") != 1 {
				t.Fatal("envelope failure not logged")
			}
		})
	}
}

func TestPlaintextMessageIsRejectedOnceAKeyExistsInStrictMode(t *testing.T) {
	a, b := mustIdentity(t, "a"), mustIdentity(t, "b")
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	policy := trust.NewPolicy(trust.TOFU, nil)
	ini := newSide(t, a, b.ID, Initiator, m, policy)
	resp := newSide(t, b, a.ID, Responder, m, policy)
	_, confirm := resp.receive(register(a.ID))
	_, req := ini.receive(confirm[0])
	_, respond := resp.receive(req[0])
	p := respond[0]
	delete(p, "sec")
	p["message"] = ResponderText
	res, _ := ini.receive(p)
	if res.Ignored != ReasonPlaintext || !res.Rejected {
		t.Fatalf("plaintext respond: ignored %q rejected %v, want %q", res.Ignored, res.Rejected, ReasonPlaintext)
	}
}
