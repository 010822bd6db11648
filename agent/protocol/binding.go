package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol/bind"
)

// Transcript binding and authenticated finalize between hsfleet agents
// (docs/protocol.md §7, docs/integrity-plan.md §2–§4). Every function here
// is pure: the machine calls the checks, Render the builders.

// verifyBind checks the `bind` of a peer's hs whose legacy signature
// already verified (s holds its sign_pub). It reports whether the peer
// binds this cycle, and false when the message must be rejected:
//
//   - no bind: a legacy (Python) peer, unless the peer must bind
//     (Env.RequiresBind), which makes it a downgrade;
//   - a bind that does not verify: rejected in tofu and fleet mode and
//     from a peer that must bind; in open mode noted and run as legacy.
//
// The responder's confirm echoes the reconnect's your_ref it answered, or
// "" for a register: the initiator tries its peer reference, then "".
func (m Machine) verifyBind(res *Result, msg Msg, typ string, s *Session, env Env) (binds, ok bool) {
	sig, err := bind.BindOf(msg.HS)
	if err == nil && sig == "" {
		if env.RequiresBind() {
			res.reject(ReasonBindMissing)
			return false, false
		}
		return false, true
	}
	if err == nil {
		err = bind.ErrBadBind
		for _, t := range peerTranscripts(res, msg, typ, env) {
			if err = t.Verify(s.PeerSignPub, sig); err == nil {
				break
			}
		}
	}
	if err != nil {
		res.note("bind verify failed", "error", err)
		if m.Policy.Strict || env.RequiresBind() {
			res.reject(ReasonBindInvalid)
			return false, false
		}
		return false, true
	}
	res.MarkBinds = true
	return true, true
}

// peerTranscripts are the transcripts a peer's hs may have signed (plan
// §2.3), most likely first.
func peerTranscripts(res *Result, msg Msg, typ string, env Env) []bind.Transcript {
	self, peer := env.Pair()
	hs, _ := msg.HS.(map[string]any)
	t := bind.Transcript{From: peer, To: self, Type: typ, Nonce: msg.MyNonce,
		KxPub: str(hs, "kx_pub"), TS: str(hs, "timestamp")}
	if typ == "init" {
		t.Echo = msg.YourNonce
		if k := res.Mem.Ephemeral; k != nil {
			t.PeerKxPub = b64(k.PublicKey().Bytes())
		}
		return []bind.Transcript{t}
	}
	ref := res.Row.PeerRef
	if ref == "" {
		ref = res.Mem.InheritedPeerRef
	}
	if ref == "" {
		return []bind.Transcript{t}
	}
	withRef := t
	withRef.Echo = ref
	return []bind.Transcript{withRef, t}
}

// confirmKey checks the binding header of a sealed message opened under
// this cycle's key (plan §2.4): from a binding peer every hsf field must
// equal the outer payload's and the envelope ts must be fresh. The first
// such message is key confirmation. It returns false (rejected) on a
// mismatch; legacy peers are not checked.
func confirmKey(res *Result, msg Msg, plain map[string]any, env Env) bool {
	if !res.Mem.PeerBinds {
		return true
	}
	err := bind.Check(plain, headerOf(msg.From, msg.To, msg.Intent, msg.MyNonce, msg.YourNonce))
	if err == nil {
		err = bind.EnvelopeFresh(msg.Sec, env.Now())
	}
	if err != nil {
		res.note("binding header check failed", "error", err)
		res.reject(ReasonBindMismatch)
		return false
	}
	res.Mem.KeyConfirmed = true
	return true
}

func headerOf(from, to string, intent Intent, myNonce, yourNonce string) bind.Header {
	return bind.Header{From: from, To: to, Intent: string(intent), MyNonce: myNonce, YourNonce: yourNonce}
}

// checkMAC applies plan §3 to a finalize message: with a key (the peer
// binds) it needs a valid mac, else it is ignored and counted. nil key: a
// legacy peer, nothing to check.
func checkMAC(res *Result, msg Msg, key []byte) bool {
	if key == nil {
		return true
	}
	err := bind.VerifyMAC(key, bind.Fields{From: msg.From, To: msg.To, Intent: string(msg.Intent),
		YourNonce: msg.YourNonce, YourRef: msg.YourRef, MyRef: msg.MyRef}, msg.MAC)
	switch {
	case err == nil:
		return true
	case errors.Is(err, bind.ErrNoMAC):
		res.ignore(ReasonMACMissing)
	default:
		res.ignore(ReasonMACInvalid)
	}
	return false
}

// bindingKey is this cycle's finalize key when the peer binds, else nil.
func (m Mem) bindingKey() []byte {
	if m.PeerBinds {
		return m.FinKey
	}
	return nil
}

// verifiedCycle reports whether the cycle ending now was authenticated end
// to end (plan §4): the peer's hs bound, a sealed message confirmed the
// key; the caller has checked the finalize MAC.
func (m Mem) verifiedCycle() bool {
	return m.PeerBinds && m.KeyConfirmed && m.FinKey != nil
}

// signBind adds `bind` to an hs payload we send (plan §2.3).
func signBind(hs map[string]any, o Out, self, peer string, mem Mem, priv ed25519.PrivateKey) error {
	t := bind.Transcript{From: self, To: peer, Type: o.HSType, Nonce: o.MyNonce,
		KxPub: str(hs, "kx_pub"), TS: str(hs, "timestamp")}
	if o.HSType == "init" {
		t.Echo = o.YourNonce
		if mem.Session != nil {
			t.PeerKxPub = b64(mem.Session.PeerKxPub)
		}
	} else {
		t.Echo = mem.ConfirmEcho
	}
	sig, err := t.Sign(priv)
	if err != nil {
		return err
	}
	hs[bind.HSKey] = sig
	return nil
}

// sealBound seals o.Text with the binding header (plan §2.4); the
// reference reads only "message".
func sealBound(o Out, self, peer string, s *Session, id *crypto.Identity, now time.Time) (map[string]any, error) {
	plain, err := headerOf(self, peer, o.Intent, o.MyNonce, o.YourNonce).Plaintext(o.Text)
	if err != nil {
		return nil, err
	}
	return crypto.SealSec(plain, s.Key, id.SignPriv, now)
}

// macOf is the finalize MAC of an outbound message.
func macOf(o Out, self, peer string) (string, error) {
	return bind.MAC(o.MACKey, bind.Fields{From: self, To: peer, Intent: string(o.Intent),
		YourNonce: o.YourNonce, YourRef: o.YourRef, MyRef: o.MyRef})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
