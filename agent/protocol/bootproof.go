package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol/bind"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// The boot proof (docs/protocol.md §8) lets a restarted agent end, at once,
// the cycles its peers still run with its previous process. Those cycles
// cannot finish: the session and finalize keys lived only in that
// process's RAM. Without the proof each such pair waits for a state
// timeout.
//
// Every register of an hsfleet agent in tofu or fleet mode carries
//
//	"boot": {"ts": <process start, RFC 3339 with nanoseconds, UTC>,
//	         "sign_pub": <base64 Ed25519 key>,
//	         "sig": <base64 signature of the bind transcript
//	                 {from: us, to: "", type: "boot", ts: ts}>}
//
// A responder whose current cycle started before ts (or was left mid-way
// by its own previous process, see bootRestarts) checks the key against
// the trust policy (fleet bundle, or tofu pin) and the signature, then
// starts a new cycle.
// The proof says only "this agent's process started at ts": replaying it
// (it is broadcast in every register) can end only cycles that began
// before that start, which are dead anyway, so it needs no nonce log.
// The transcript type "boot" differs from the hs bind types ("init",
// "response"), so neither signature can stand in for the other. Python
// agents ignore the extra key.

// BootField is the key of the boot proof in a register payload.
const BootField = "boot"

const bootType = "boot"

// ErrBadBootProof: a boot proof that is malformed or does not verify.
var ErrBadBootProof = errors.New("boot proof does not verify")

// BootKeyChecker is the trust policy's side-effect-free key check
// (trust.Policy.Check): in fleet mode pub must be a bundle key of the
// agent, in tofu mode its pin.
type BootKeyChecker interface {
	Check(agentID string, pub, pinned ed25519.PublicKey) error
}

// BootProof builds the register's boot field for a process that started
// at start.
func BootProof(self string, priv ed25519.PrivateKey, start time.Time) (map[string]any, error) {
	ts := start.UTC().Format(time.RFC3339Nano)
	sig, err := bind.Transcript{From: self, Type: bootType, TS: ts}.Sign(priv)
	if err != nil {
		return nil, err
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	return map[string]any{"ts": ts, "sign_pub": b64(pub), "sig": sig}, nil
}

// bootTime reads the claimed start time of a boot proof without checking
// anything else: the cheap test that comes before any crypto.
func bootTime(raw any) (time.Time, bool) {
	m, ok := raw.(map[string]any)
	if !ok {
		return time.Time{}, false
	}
	s, ok := m["ts"].(string)
	if !ok || len(s) > 40 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// VerifyBootProof checks a boot proof from peer: its key against the trust
// policy (pinned: the row's tofu pin), then the signature. It returns the
// proven start time.
func VerifyBootProof(raw any, peer, pinned string, policy BootKeyChecker) (time.Time, error) {
	at, ok := bootTime(raw)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: no valid ts", ErrBadBootProof)
	}
	m := raw.(map[string]any)
	pubB64, _ := m["sign_pub"].(string)
	sig, _ := m["sig"].(string)
	pub, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return time.Time{}, fmt.Errorf("%w: bad sign_pub", ErrBadBootProof)
	}
	pin := decodePin(pinned)
	if policy == nil {
		return time.Time{}, fmt.Errorf("%w: no trust policy", ErrBadBootProof)
	}
	if len(pin) == 0 && !isFleetPolicy(policy) {
		// Tofu without a pin would accept any key.
		return time.Time{}, fmt.Errorf("%w: no pinned key for the peer", ErrBadBootProof)
	}
	if err := policy.Check(peer, pub, pin); err != nil {
		return time.Time{}, err
	}
	ts, _ := m["ts"].(string)
	if err := (bind.Transcript{From: peer, Type: bootType, TS: ts}).Verify(pub, sig); err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrBadBootProof, err)
	}
	return at, nil
}

// isFleetPolicy reports whether the key check compares against a fleet
// bundle (the only mode where an unpinned peer still has a known key).
func isFleetPolicy(p any) bool {
	m, ok := p.(interface{ Mode() trust.Mode })
	return ok && m.Mode() == trust.Fleet
}

// bootRestarts is the cheap part of the rule, before any crypto: msg is a
// register with a boot proof, in tofu or fleet mode (strict), while the
// responder is not simply ready (a plain register starts a cycle there
// anyway), and either
//
//   - the proof claims a start after the responder's current cycle (or
//     last cycle) began: the peer restarted since; or
//   - the responder still holds what its row had at load (no cycle of
//     this process since) and the proof claims a start after the previous
//     process last saved that row (Mem.InheritedSavedAt); or
//   - the responder's cycle was left mid-way by our own previous process
//     (Mem.Inherited): only an hsfleet agent sends a boot proof, and with
//     one the cycle cannot finish (its finalize MACs need the lost keys),
//     so a new cycle starts now instead of at the state timeout. A Python
//     peer sends none and keeps the conclude path of Resume.
func bootRestarts(row Row, mem Mem, msg Msg, strict bool, now time.Time) bool {
	if msg.Intent != IntentRegister || !msg.Broadcast() || msg.Boot == nil || !strict {
		return false
	}
	if row.State == StateRespReady && row.LocalRef == "" {
		return false
	}
	at, ok := bootTime(msg.Boot)
	// A start claimed far in the future is not believed (and not worth a
	// signature check).
	if !ok || at.After(now.Add(hsCycleSkew)) {
		return false
	}
	return at.After(mem.CycleStart) ||
		(!mem.InheritedSavedAt.IsZero() && at.After(mem.InheritedSavedAt)) ||
		(mem.Inherited && row.State != StateRespReady)
}

// peerRestarted applies the boot proof to a responder (see above). It
// reports whether it handled msg.
func (m Machine) peerRestarted(res *Result, msg Msg, env Env) (bool, error) {
	if !bootRestarts(res.Row, res.Mem, msg, m.Policy.Strict, env.Now()) {
		return false, nil
	}
	if _, err := env.VerifyBoot(msg.Boot, res.Row.PeerSignPub); err != nil {
		res.note("boot proof rejected", "error", err)
		res.reject(ReasonBootInvalid)
		return true, nil
	}
	from := res.Row.State
	if err := m.startResponderCycle(res, env, ""); err != nil {
		return true, err
	}
	res.DeletePairNonces = true // the abandoned cycle's log
	res.Mem.Tombstone = nil     // the restarted peer concludes nothing old
	res.Restart = RestartPeerBoot
	res.note("peer restarted; cycle started over", "from_state", from)
	return true, nil
}

// Causes of a cycle abandoned at once instead of at the state timeout
// (Result.Restart; the cycles_restarted_total label).
const (
	RestartPeerBoot    = "peer_boot"    // responder: a verified boot proof
	RestartPeerConfirm = "peer_confirm" // initiator: a verified confirm of a new cycle
	RestartOwnBoot     = "own_boot"     // this process found the row mid-cycle at start
)

// ResumeBinding is Resume for a peer that must bind, where a cycle left
// mid-way by the previous process can never finish (its finalize MACs need
// the lost keys), and the peer learns of the restart at once (boot proof,
// or our fresh confirm): an initiator drops the cycle and waits for the
// peer's confirm; a responder starts a new cycle and sends confirm now.
// Rows that need nothing return a Result without Write.
func (m Machine) ResumeBinding(role Role, row Row, mem Mem, env Env) (Result, error) {
	res := Result{Row: row, Mem: mem}
	switch row.State {
	case StateInitExchange, StateInitPropose, StateInitClose:
	case StateInitReady:
		if row.PeerRef == "" {
			return res, nil
		}
		// The reconnect would carry no MAC (the resume key is gone): the
		// peer's boot-proof rule starts the next cycle instead.
	case StateRespConfirm, StateRespExchange, StateRespFinalize:
		if err := m.startResponderCycle(&res, env, ""); err != nil {
			return Result{Row: row, Mem: mem}, err
		}
		res.DeletePairNonces = true
		res.Restart = RestartOwnBoot
		res.note("restarted mid-cycle; cycle started over", "from_state", row.State)
		return res, nil
	default:
		return res, nil
	}
	// The peer's confirm may still sign the reference the wipe forgets
	// (it answers the reconnect it last heard): keep it in RAM for the
	// confirm's bind check (peerTranscripts).
	res.Mem.InheritedPeerRef = row.PeerRef
	res.Row.wipe()
	res.Row.State = StateInitReady
	res.Write, res.Progress, res.DeletePairNonces = true, true, true
	res.Restart = RestartOwnBoot
	res.note("restarted mid-cycle; waiting for the peer's new cycle", "from_state", row.State)
	return res, nil
}
