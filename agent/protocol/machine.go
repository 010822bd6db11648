package protocol

import (
	"crypto/ecdh"
	"fmt"
	"time"
)

// Env is what a step asks of the outside world: the pair's nonce log, the
// crypto checks (which know the trust policy) and randomness. The runner
// implements it over the store and agent/crypto.
type Env interface {
	// ReceivedBefore / SentBefore look nonce up in this pair's nonce log.
	ReceivedBefore(nonce string) (bool, error)
	SentBefore(nonce string) (bool, error)
	// VerifyHS validates a peer's hs (spec §4.2) as chk describes, checks
	// its sign_pub against the trust policy, and derives the session key
	// with our ephemeral kx key, drawn from chk.Kx only once every other
	// check passed.
	VerifyHS(raw any, chk HSCheck) (*Session, error)
	// OpenSec verifies and decrypts a sec envelope; it returns the opened
	// plaintext object.
	OpenSec(raw any, s *Session) (map[string]any, error)
	// Pair names this conversation: our ID and the peer's.
	Pair() (self, peer string)
	// RequiresBind reports whether the peer must bind (trust.Policy
	// RequiresBind: a bind1 bundle entry in fleet mode, a binding pin in
	// tofu mode), so an hs without a valid bind is a downgrade.
	RequiresBind() bool
	// VerifyBoot checks a register's boot proof from the peer (key
	// against the trust policy, pinned as in VerifyHS, then signature)
	// and returns the proven process start.
	VerifyBoot(raw any, pinned string) (time.Time, error)
	NewNonce() string
	NewRef() string
	NewEphemeral() (*ecdh.PrivateKey, error)
	Now() time.Time
}

// HSCheck is what a peer's hs must match: everything comes from the step's
// row and Mem, so Env reads no conversation state of its own.
type HSCheck struct {
	Type  string // "init" or "response"
	Nonce string // the message's my_nonce
	Kx    *LazyKey
	// Pinned is the row's stored key of the peer (TOFU mode).
	Pinned string
	// NotBefore: an hs signed earlier is a replay from an earlier cycle;
	// zero when no cycle start is known.
	NotBefore time.Time
}

// hsNotBefore is the earliest hs timestamp a cycle started at start
// accepts (hsCycleSkew allows for clock skew between the two sides).
func hsNotBefore(start time.Time) time.Time {
	if start.IsZero() {
		return time.Time{}
	}
	return start.UTC().Add(-hsCycleSkew)
}

// DefaultStateTimeout is how long a conversation may make no progress
// before Timeout recovers it (the runner's default), and a tombstone's
// life when Machine.StateTimeout is 0.
const DefaultStateTimeout = 10 * time.Second

// Policy is how strictly a machine treats hs and sec.
type Policy struct {
	// Strict (tofu and fleet trust): a missing or failed hs and a failed sec
	// reject the message. Otherwise (open) they are logged and the
	// conversation goes on in plaintext, as the reference does.
	Strict bool
	// RequireSealed (strict, with secure envelopes on): once a session key
	// exists, request and respond must carry sec.
	RequireSealed bool
}

// Machine holds the protocol rules of spec §3.5–3.6 for both roles. It has
// no state of its own; every method maps inputs to a Result.
type Machine struct {
	ExchangeLimit int
	Policy        Policy
	// DisableBinding (the engine's Config.DisableBinding): send no
	// finalize MAC.
	DisableBinding bool
	// StateTimeout (the runner's state timeout; DefaultStateTimeout when
	// 0) is how long a responder's tombstone lives (tombstone.go).
	StateTimeout time.Duration
}

func (m Machine) stateTimeout() time.Duration {
	if m.StateTimeout <= 0 {
		return DefaultStateTimeout
	}
	return m.StateTimeout
}

// OnMessage handles one inbound message for the conversation whose row and
// RAM state are given. Errors are infrastructure failures (the nonce log was
// unreachable); a message that breaks a rule is reported in Result.Ignored.
func (m Machine) OnMessage(row Row, mem Mem, msg Msg, env Env) (Result, error) {
	res := Result{Row: row, Mem: mem}
	var err error
	if RoleOfState(row.State) == Responder {
		if handled, err := m.peerRestarted(&res, msg, env); handled {
			if err != nil {
				return Result{Row: row, Mem: mem}, err
			}
			return res, nil
		}
	}
	switch row.State {
	case StateRespReady:
		err = m.respReady(&res, msg, env)
	case StateRespConfirm:
		err = m.respConfirm(&res, msg, env)
	case StateRespExchange:
		err = m.respExchange(&res, msg, env)
	case StateRespFinalize:
		err = m.respFinalize(&res, msg, env)
	case StateInitReady:
		err = m.initReady(&res, msg, env)
	case StateInitExchange:
		err = m.initExchange(&res, msg, env)
	case StateInitPropose:
		err = m.initPropose(&res, msg, env)
	case StateInitClose:
		m.initClose(&res, msg, env)
	default:
		return res, fmt.Errorf("unknown state %q", row.State)
	}
	if err != nil {
		return Result{Row: row, Mem: mem}, err
	}
	if res.Ignored == "" && res.Write && msg.RemoteAddr != "" {
		res.Row.PeerAddress = msg.RemoteAddr
	}
	return res, nil
}

// accept marks a state change (or a Stay(ok)) and runs the driver of the
// resulting state, which is what the reference's queued sender would do on
// its next tick; we do it at once.
func (m Machine) accept(res *Result, state State, env Env) {
	res.Row.State = state
	res.Write, res.Progress = true, true
	m.drive(res, env)
}

// limit is the exchange limit with its default.
func (m Machine) limit() int {
	if m.ExchangeLimit <= 0 {
		return DefaultExchangeLimit
	}
	return m.ExchangeLimit
}

// checkSec applies maybe_open_secure (spec §3.6) to a request or respond
// under the policy. It returns false when the message must be rejected.
func (m Machine) checkSec(res *Result, msg Msg, s *Session, env Env) bool {
	if msg.Sec == nil {
		if s != nil && m.Policy.RequireSealed {
			res.reject(ReasonPlaintext)
			return false
		}
		return true
	}
	if s == nil {
		if m.Policy.Strict {
			res.reject(ReasonSecWithoutKey)
			return false
		}
		return true
	}
	plain, err := env.OpenSec(msg.Sec, s)
	var text string
	if err == nil {
		var ok bool
		if text, ok = plain["message"].(string); !ok {
			err = ErrNoMessage
		}
	}
	if err != nil {
		res.note("decrypt/verify failed", "error", err)
		if m.Policy.Strict {
			res.reject(ReasonSecInvalid)
			return false
		}
		return true
	}
	if !confirmKey(res, msg, plain, env) {
		return false
	}
	now := env.Now().UTC()
	res.Row.LastSecureAt = &now
	// The plaintext itself is never logged (issue 12 item 6).
	res.note("opened message", "bytes", len(text))
	return true
}

// verifyHS runs the hs rule of handle_request / handle_confirm, then the
// negotiated transcript binding (verifyBind). It returns the session (nil
// when there is none), whether the peer binds this cycle, and false when
// the message must be rejected.
func (m Machine) verifyHS(res *Result, msg Msg, typ string, kx *LazyKey, env Env) (*Session, bool, bool) {
	if msg.HS == nil {
		if m.Policy.Strict || env.RequiresBind() {
			res.reject(ReasonHSMissing)
			return nil, false, false
		}
		return nil, false, true
	}
	s, err := env.VerifyHS(msg.HS, HSCheck{Type: typ, Nonce: msg.MyNonce, Kx: kx,
		Pinned: res.Row.PeerSignPub, NotBefore: hsNotBefore(res.Mem.CycleStart)})
	if err != nil {
		res.note("handshake verify failed", "error", err)
		if m.Policy.Strict || env.RequiresBind() {
			res.reject(ReasonHSInvalid)
			return nil, false, false
		}
		return nil, false, true
	}
	binds, ok := m.verifyBind(res, msg, typ, s, env)
	if !ok {
		return nil, false, false
	}
	res.RecordHS = msg.MyNonce // ValidateHandshake checked hs.nonce == my_nonce
	return s, binds, true
}
