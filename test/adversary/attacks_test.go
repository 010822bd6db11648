package adversary

import (
	"encoding/base64"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/protocol/bind"
	"github.com/hsfleet/hsfleet/agent/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The forging attacks of issue 12 items 1-3 (docs/protocol.md §6.2). Each
// install function arms the attacker on a warmed-up world; the attack then
// runs for attackWindow while the oracles watch.

// relayed copies a genuine payload for re-sending.
func relayed(p wire.Payload) wire.Payload {
	c := make(wire.Payload, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}

// tokens remembers the latest genuine nonce each honest agent offered each
// peer (my_nonce of its last confirm or respond) and the sec of each pair's
// requests in the current cycle.
type tokens struct {
	mu    sync.Mutex
	nonce map[[2]string]string // (from, to) -> my_nonce
	sec   map[[2]string]any    // (initiator, responder) -> a sec from this cycle
}

func newTokens() *tokens {
	return &tokens{nonce: map[[2]string]string{}, sec: map[[2]string]any{}}
}

func (k *tokens) observe(s seen) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch s.intent {
	case string(protocol.IntentConfirm):
		k.nonce[[2]string{s.from, s.to}] = s.myNonce
		delete(k.sec, [2]string{s.to, s.from}) // a new cycle: a new session key
	case string(protocol.IntentRespond):
		k.nonce[[2]string{s.from, s.to}] = s.myNonce
	case string(protocol.IntentRequest):
		if sec, ok := s.payload["sec"]; ok {
			k.sec[[2]string{s.from, s.to}] = sec
		}
	}
}

func (k *tokens) latest(from, to string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.nonce[[2]string{from, to}]
}

func (k *tokens) secOf(ini, resp string) any {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sec[[2]string{ini, resp}]
}

// readdressConfirm (item 1): every confirm Y sends to C is re-sent to each
// other honest agent A, from Y unchanged.
func readdressConfirm(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent != string(protocol.IntentConfirm) {
			return
		}
		for _, a := range w.ids() {
			if a != s.from && a != s.to {
				p := relayed(s.payload)
				p["to"] = a
				w.att.send(p)
			}
		}
	})
}

// replayHSAcrossPairs (item 1): the first request of A's cycle with B (it
// carries A's hs) is re-addressed to every other responder C, echoing the
// nonce C last offered A, so it passes C's echo rule.
func replayHSAcrossPairs(w *world) {
	k := newTokens()
	w.att.onLine(func(s seen) {
		k.observe(s)
		if s.intent != string(protocol.IntentRequest) || s.payload["hs"] == nil {
			return
		}
		for _, c := range w.ids() {
			if c == s.from || c == s.to {
				continue
			}
			if n := k.latest(c, s.from); n != "" {
				p := relayed(s.payload)
				p["to"], p["your_nonce"] = c, n
				w.att.send(p)
			}
		}
	})
}

// forgedFinish (item 2): on every conclude A sends B, a finish from B that
// echoes the conclude's my_ref and offers a reference of our own.
func forgedFinish(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent == string(protocol.IntentConclude) {
			w.att.send(wire.Payload{"intent": string(protocol.IntentFinish), "from": s.to, "to": s.from,
				"your_ref": s.myRef, "my_ref": crypto.NewReference()})
		}
	})
}

// forgedClose (item 2): on every finish B sends A, a close from A that
// echoes the finish's my_ref (racing A's own close) with a my_ref of ours.
func forgedClose(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent == string(protocol.IntentFinish) {
			w.att.send(wire.Payload{"intent": string(protocol.IntentClose), "from": s.to, "to": s.from,
				"your_ref": s.myRef, "my_ref": crypto.NewReference()})
		}
	})
}

// forgedConcludeClose (item 2): on every respond B sends A, a conclude from
// A echoing it; when B answers that conclude with finish, a close from A.
// B then counts a cycle A never finished.
func forgedConcludeClose(w *world) {
	var mu sync.Mutex
	ours := map[string]bool{}
	w.att.onLine(func(s seen) {
		switch s.intent {
		case string(protocol.IntentRespond):
			ref := crypto.NewReference()
			mu.Lock()
			ours[ref] = true
			mu.Unlock()
			w.att.send(wire.Payload{"intent": string(protocol.IntentConclude), "from": s.to, "to": s.from,
				"your_nonce": s.myNonce, "my_ref": ref})
		case string(protocol.IntentFinish):
			mu.Lock()
			mine := ours[s.yourRef]
			mu.Unlock()
			if mine {
				w.att.send(wire.Payload{"intent": string(protocol.IntentClose), "from": s.to, "to": s.from,
					"your_ref": s.myRef, "my_ref": s.yourRef})
			}
		}
	})
}

// abortFinalize (item 2): as soon as B sends finish, ten directed junk
// lines from A, before A's close arrives.
func abortFinalize(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent != string(protocol.IntentFinish) {
			return
		}
		for range 10 {
			w.att.send(wire.Payload{"intent": string(protocol.IntentRequest), "from": s.to, "to": s.from,
				"your_nonce": crypto.NewNonce(), "my_nonce": crypto.NewNonce()})
		}
	})
}

// forgedReconnect (item 2): on every finish B sends A, a reconnect from A
// with the reference the finish offered, long before A's own (the world
// pauses cycles, so A reconnects only after cycleEvery).
func forgedReconnect(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent == string(protocol.IntentFinish) {
			w.att.send(wire.Payload{"intent": string(protocol.IntentReconnect), "from": s.to, "to": s.from,
				"your_ref": s.myRef})
		}
	})
}

// reconnectsGenuine is forgedReconnect's oracle: a responder that ended a
// cycle with finish starts the pair's next one (a confirm with a new
// nonce), within its state timeout, only after the initiator's own
// reconnect presenting that finish's reference.
func (w *world) reconnectsGenuine() []string {
	type pairState struct {
		ref       string
		at        time.Time
		reconnect bool
	}
	st := map[[2]string]*pairState{} // (responder, initiator)
	bad := map[[2]string]int{}
	for _, l := range w.att.recorded() {
		switch l.intent {
		case string(protocol.IntentFinish):
			st[[2]string{l.from, l.to}] = &pairState{ref: l.myRef, at: l.at}
		case string(protocol.IntentReconnect):
			if p := st[[2]string{l.to, l.from}]; p != nil && l.yourRef == p.ref {
				p.reconnect = true
			}
		case string(protocol.IntentConfirm):
			k := [2]string{l.from, l.to}
			if p := st[k]; p != nil {
				if !p.reconnect && l.at.Sub(p.at) < w.opts.stateTimeout {
					bad[k]++
				}
				delete(st, k)
			}
		}
	}
	var out []string
	for k, n := range bad {
		out = append(out, fmt.Sprintf("%s started %d cycles with %s that %[3]s never reconnected",
			short(k[0]), n, short(k[1])))
	}
	return out
}

// moveSec (item 3): the sec of A's latest request to B is lifted onto a
// forged request from A with a nonce of our own, answering B's respond.
func moveSec(w *world) {
	k := newTokens()
	w.att.onLine(func(s seen) {
		k.observe(s)
		if s.intent != string(protocol.IntentRespond) {
			return
		}
		if sec := k.secOf(s.to, s.from); sec != nil {
			w.att.send(wire.Payload{"intent": string(protocol.IntentRequest), "from": s.to, "to": s.from,
				"your_nonce": s.myNonce, "my_nonce": crypto.NewNonce(), "sec": sec})
		}
	})
}

// forgedBoot (the restart rule, docs/protocol.md §8): on every register
// of an honest agent A, a register from A whose boot proof claims A
// started just now, with A's real sign_pub but a signature of the
// attacker's own key, and one with the attacker's key as sign_pub. A
// proof that verified would end every cycle A's peers run with A.
func forgedBoot(w *world) {
	fake, err := crypto.NewIdentity("attacker")
	if err != nil {
		panic(err)
	}
	w.att.onLine(func(s seen) {
		if s.intent != string(protocol.IntentRegister) {
			return
		}
		boot, ok := s.payload["boot"].(map[string]any)
		if !ok {
			return
		}
		now := time.Now().UTC().Format(time.RFC3339Nano)
		sig, err := bind.Transcript{From: s.from, Type: "boot", TS: now}.Sign(fake.SignPriv)
		if err != nil {
			return
		}
		for _, pub := range []any{boot["sign_pub"], base64.StdEncoding.EncodeToString(fake.SignPub())} {
			w.att.send(wire.Payload{"intent": string(protocol.IntentRegister), "from": s.from, "to": nil,
				"boot": map[string]any{"ts": now, "sign_pub": pub, "sig": sig}})
		}
	})
}

// replayBoot: every genuine register (with its genuine boot proof) is
// replayed at once and again 300 ms later. The proof says only when the
// agent's process started, so a replay can end only cycles that began
// before that start: none while the agent runs.
func replayBoot(w *world) {
	w.att.onLine(func(s seen) {
		if s.intent != string(protocol.IntentRegister) || s.payload["boot"] == nil {
			return
		}
		p := relayed(s.payload)
		w.att.send(p)
		time.AfterFunc(300*time.Millisecond, func() { w.att.send(p) })
	})
}

// noBootRestarts is the oracle of forgedBoot and replayBoot: no honest
// agent restarts in the world, so no cycle may end on a boot proof.
func (w *world) noBootRestarts() []string {
	var out []string
	for _, a := range w.agentsNow() {
		m := a.eng.Metrics().CyclesRestarted
		for _, role := range []protocol.Role{protocol.Initiator, protocol.Responder} {
			if n := counterValue(m.WithLabelValues(string(role), protocol.RestartPeerBoot)); n != 0 {
				out = append(out, fmt.Sprintf("%s (%s) ended %g cycles on a boot proof, though no agent restarted",
					short(a.id.ID), role, n))
			}
		}
	}
	return out
}

// prodX runs beside every fleet attack: it claims to be X (a bundle member
// that never runs), registers, and answers every line an honest agent sends
// X with the forged rest of a cycle, so any cycle counted with X is one the
// attacker completed.
func prodX(w *world, stop <-chan struct{}) {
	x := w.x.ID
	w.att.mu.Lock()
	prev := w.att.react
	w.att.mu.Unlock()
	w.att.onLine(func(s seen) {
		if prev != nil {
			prev(s)
		}
		if s.to != x {
			return
		}
		switch s.intent {
		case string(protocol.IntentConfirm), string(protocol.IntentRespond):
			w.att.send(wire.Payload{"intent": string(protocol.IntentRequest), "from": x, "to": s.from,
				"your_nonce": s.myNonce, "my_nonce": crypto.NewNonce(), "message": protocol.InitiatorText})
			w.att.send(wire.Payload{"intent": string(protocol.IntentConclude), "from": x, "to": s.from,
				"your_nonce": s.myNonce, "my_ref": crypto.NewReference()})
		case string(protocol.IntentFinish):
			w.att.send(wire.Payload{"intent": string(protocol.IntentClose), "from": x, "to": s.from,
				"your_ref": s.myRef, "my_ref": crypto.NewReference()})
		}
	})
	every(100*time.Millisecond, stop, func() {
		w.att.send(wire.Payload{"intent": string(protocol.IntentRegister), "from": x, "to": nil})
		for _, a := range w.ids() {
			w.att.send(wire.Payload{"intent": string(protocol.IntentConfirm), "from": x, "to": a,
				"my_nonce": crypto.NewNonce()})
			w.att.send(wire.Payload{"intent": string(protocol.IntentFinish), "from": x, "to": a,
				"your_ref": crypto.NewReference(), "my_ref": crypto.NewReference()})
		}
	})
}

// runUndefended runs the attacks this base does not defend yet instead of
// skipping them (HSFLEET_ADVERSARY_ALL=1), to see which now pass.
func runUndefended() bool { return os.Getenv("HSFLEET_ADVERSARY_ALL") != "" }

// combine installs several attacks at once: each sees every genuine line.
func combine(installs ...func(*world)) func(*world) {
	return func(w *world) {
		var reacts []func(seen)
		for _, install := range installs {
			install(w)
			w.att.mu.Lock()
			if f := w.att.react; f != nil {
				reacts = append(reacts, f)
			}
			w.att.mu.Unlock()
		}
		w.att.onLine(func(s seen) {
			for _, f := range reacts {
				f(s)
			}
		})
	}
}

// counterValue reads one counter.
func counterValue(c prometheus.Counter) float64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return -1
	}
	return d.GetCounter().GetValue()
}
