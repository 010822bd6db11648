package protocol

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol/bind"
)

// respReady is handle_register: register (to null) starts a cycle when we
// hold no reference; reconnect starts one when it presents our reference.
func (m Machine) respReady(res *Result, msg Msg, env Env) error {
	switch msg.Intent {
	case IntentConclude:
		m.concludeAfterTimeout(res, msg, env)
		return nil
	case IntentRequest:
		m.requestAfterTimeout(res, msg, env)
		return nil
	}
	if reason := StartRefusal(res.Row, msg); reason != "" {
		res.ignore(reason)
		return nil
	}
	if !resumeAuthentic(res, msg) {
		return nil
	}
	echo := ""
	if msg.Intent == IntentReconnect {
		echo = msg.YourRef
	}
	return m.startResponderCycle(res, env, echo)
}

// resumeAuthentic applies plan §3 to a reconnect: after a cycle with a
// binding peer, only a reconnect with that cycle's MAC resumes the
// pair (a forged one starts nothing). Without the key (a legacy peer, or
// after our restart or eviction) it is accepted as before.
func resumeAuthentic(res *Result, msg Msg) bool {
	if msg.Intent != IntentReconnect {
		return true
	}
	if !res.Mem.ResumeBinds {
		return true
	}
	return checkMAC(res, msg, res.Mem.ResumeKey)
}

// StartsCycle reports whether msg would start a responder cycle from row:
// in resp_ready, a register or reconnect StartRefusal lets through whose
// reconnect MAC checks out, or a boot proof that restarts the pair
// (bootRestarts, before any crypto). The runner asks it before it takes a
// cycle slot; it has no side effects.
func (m Machine) StartsCycle(row Row, mem Mem, msg Msg, now time.Time) bool {
	if row.State != StateRespReady {
		return false
	}
	if StartRefusal(row, msg) != "" {
		// A boot proof starts a cycle from resp_ready with a reference.
		return bootRestarts(row, mem, msg, m.Policy.Strict, now)
	}
	probe := Result{Mem: mem}
	return resumeAuthentic(&probe, msg)
}

// StartRefusal is why msg does not start a responder cycle from row in
// resp_ready ("" when it does). It is cheap and has no side effects.
func StartRefusal(row Row, msg Msg) Reason {
	switch msg.Intent {
	case IntentRegister:
		if !msg.Broadcast() {
			return ReasonWrongState
		}
		if row.LocalRef != "" {
			// After a cycle we resume only through reconnect (spec §3.6).
			return ReasonRefMismatch
		}
	case IntentReconnect:
		// Unlike the reference, a null your_ref never matches: with no
		// reference of ours the peer's register starts the cycle anyway.
		if msg.YourRef == "" || msg.YourRef != row.LocalRef {
			return ReasonRefMismatch
		}
	default:
		return ReasonWrongState
	}
	return ""
}

// startResponderCycle moves to resp_confirm with a fresh nonce and a fresh
// ephemeral key for this cycle's hs.
func (m Machine) startResponderCycle(res *Result, env Env, echo string) error {
	kx, err := env.NewEphemeral()
	if err != nil {
		return err
	}
	res.Row.wipe()
	res.Mem.endCycle()
	res.Mem.Ephemeral = kx
	res.Mem.ConfirmEcho = echo
	res.Mem.CycleStart = env.Now()
	m.accept(res, StateRespConfirm, env)
	return nil
}

// respConfirm is handle_request for the first request of a cycle.
func (m Machine) respConfirm(res *Result, msg Msg, env Env) error {
	if msg.Intent == IntentConclude {
		m.concludeAfterTimeout(res, msg, env)
		return nil
	}
	if msg.Intent != IntentRequest || msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	if msg.YourNonce == "" || msg.MyNonce == "" {
		res.ignore(ReasonMissingField)
		return nil
	}
	if res.Row.LocalNonce != msg.YourNonce {
		if res.Mem.Tombstone == nil {
			res.ignore(ReasonEchoMismatch)
			return nil
		}
		// Perhaps a request of a cycle we gave up.
		m.requestAfterTimeout(res, msg, env)
		return nil
	}
	seen, err := env.ReceivedBefore(msg.MyNonce)
	if err != nil {
		return err
	}
	if seen {
		res.ignore(ReasonReplay)
		return nil
	}
	s, binds, ok := m.verifyHS(res, msg, "init", &LazyKey{Key: res.Mem.Ephemeral}, env)
	if !ok {
		return nil
	}
	session := s
	if session == nil {
		session = res.Mem.Session
	} else {
		res.Mem.PeerBinds = binds
	}
	if !m.checkSec(res, msg, session, env) {
		return nil
	}
	if s != nil {
		m.adoptSession(res, s, env, transition(StateRespConfirm, StateRespExchange))
	}
	res.Row.PeerNonce = msg.MyNonce
	res.Row.LocalNonce, res.Row.PeerRef, res.Row.LocalRef = "", "", ""
	res.Row.ExchangeCount = 1
	res.RecordReceived = msg.MyNonce
	// The peer answered our confirm: it left the cycle a tombstone kept.
	res.Mem.Tombstone = nil
	m.accept(res, StateRespExchange, env)
	return nil
}

// respExchange is handle_request_or_conclude: the ping-pong continues with
// request, and conclude moves to finalize.
func (m Machine) respExchange(res *Result, msg Msg, env Env) error {
	if (msg.Intent != IntentRequest && msg.Intent != IntentConclude) || msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	if msg.YourNonce == "" ||
		(msg.Intent == IntentRequest && msg.MyNonce == "") ||
		(msg.Intent == IntentConclude && msg.MyRef == "") {
		res.ignore(ReasonMissingField)
		return nil
	}
	if res.Row.LocalNonce != msg.YourNonce {
		// A conclude may echo any nonce we sent this cycle: a Python
		// initiator that decided to conclude while its sender emitted one
		// more request echoes the nonce before our last rotation, and
		// would wait for finish forever (issue 12 item 7, stall A).
		late := false
		if msg.Intent == IntentConclude {
			sent, err := env.SentBefore(msg.YourNonce)
			if err != nil {
				return err
			}
			late = sent
		}
		if !late {
			res.ignore(ReasonEchoMismatch)
			return nil
		}
	}
	if msg.Intent == IntentConclude {
		if !checkMAC(res, msg, res.Mem.bindingKey()) {
			return nil
		}
		res.Row.PeerRef = msg.MyRef
		res.Row.ExchangeCount = 0
		m.accept(res, StateRespFinalize, env)
		return nil
	}
	seen, err := env.ReceivedBefore(msg.MyNonce)
	if err != nil {
		return err
	}
	if seen {
		res.ignore(ReasonReplay)
		return nil
	}
	if !m.checkSec(res, msg, res.Mem.Session, env) {
		return nil
	}
	if limit := respExchangeCap(res.Mem); res.Row.ExchangeCount >= limit {
		// An honest initiator cuts after a few exchanges (re-sends
		// included); one that never concludes would hold a cycle slot
		// forever, since every request is progress (issue 12 item 5).
		res.Row.wipe()
		res.Row.State = StateRespReady
		res.Write, res.Progress = true, true
		res.DeletePairNonces = true
		res.Mem.endCycle()
		res.note("exchange cap reached; cycle given up", "transition", transition(StateRespExchange, StateRespReady),
			"exchange_count", limit)
		return nil
	}
	res.Row.PeerNonce = msg.MyNonce
	res.Row.LocalNonce = ""
	res.Row.ExchangeCount++
	res.RecordReceived = msg.MyNonce
	m.accept(res, StateRespExchange, env)
	return nil
}

// respFinalize is handle_close: a close that presents our reference ends the
// cycle; other directed messages make us repeat finish, up to a limit.
func (m Machine) respFinalize(res *Result, msg Msg, env Env) error {
	if msg.Broadcast() {
		res.ignore(ReasonWrongState)
		return nil
	}
	if msg.Intent == IntentClose {
		if msg.YourRef == "" || msg.MyRef == "" || msg.YourRef != res.Row.LocalRef {
			res.ignore(ReasonRefMismatch)
			return nil
		}
		if !checkMAC(res, msg, res.Mem.bindingKey()) {
			return nil
		}
		res.Verified = res.Mem.verifiedCycle()
		res.Row.PeerRef = msg.MyRef
		res.Row.LocalNonce, res.Row.PeerNonce = "", ""
		res.Row.ExchangeCount, res.Row.FinalizeRetryCount = 0, 0
		res.Row.State = StateRespReady
		res.Write, res.Progress = true, true
		res.DeletePairNonces = true
		res.CycleDone = true
		res.note("CLOSE SUCCESS", "transition", transition(StateRespFinalize, StateRespReady), "verified", res.Verified)
		res.Mem.endCycle()
		return nil
	}
	if res.Mem.PeerBinds {
		// A binding peer's only other message here is its conclude,
		// re-sent because our finish was lost: answer it again. Nothing
		// else counts towards giving up, so forged or replayed lines
		// cannot abort the cycle (plan §3); the state timeout bounds it.
		if msg.Intent != IntentConclude {
			res.ignore(ReasonWrongState)
			return nil
		}
		if !checkMAC(res, msg, res.Mem.bindingKey()) {
			return nil
		}
		m.drive(res, env)
		return nil
	}
	if res.Row.FinalizeRetryCount > RespFinalLimit {
		res.Row.wipe()
		res.Row.State = StateRespReady
		res.Write, res.Progress = true, true
		res.Mem.endCycle()
		res.note("finalize gave up", "transition", transition(StateRespFinalize, StateRespReady))
		return nil
	}
	res.Row.FinalizeRetryCount++
	res.Write = true
	m.drive(res, env)
	return nil
}

// adoptSession stores a verified hs: the key in RAM, the peer keys in the
// row (as persist_crypto_meta does). A machine with DisableBinding
// derives no finalize key, so it sends no MAC.
func (m Machine) adoptSession(res *Result, s *Session, env Env, transition string) {
	now := env.Now().UTC()
	res.Mem.Session = s
	res.Row.PeerSignPub = base64.StdEncoding.EncodeToString(s.PeerSignPub)
	res.Row.PeerKxPub = base64.StdEncoding.EncodeToString(s.PeerKxPub)
	res.Row.HSDerivedAt = &now
	if !m.DisableBinding {
		res.Mem.FinKey = bind.FinalizeKey(s.Key)
	}
	res.note("sym_key", "transition", transition, "sym_key", KeyFingerprint(s.Key))
}

// KeyFingerprint names a session key in logs without revealing it: the first
// 16 hex digits of its SHA-256 (the reference logs a prefix of the key
// itself).
func KeyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// respExchangeCap is the responder's exchange cap for the peer: mem's
// override, else RespMaxExchanges.
func respExchangeCap(mem Mem) int {
	if mem.ExchangeCap > 0 {
		return mem.ExchangeCap
	}
	return RespMaxExchanges
}
