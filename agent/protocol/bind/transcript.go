package bind

import (
	"crypto/ed25519"
	"fmt"
)

// TranscriptPrefix starts every transcript. Legacy hs signatures cover
// nonce|kx_pub|timestamp, which starts with 32 hex digits; "hsfleet-" is
// not hex, so no transcript is ever a legacy signed string and the same
// Ed25519 key can sign both (plan §2.3).
const TranscriptPrefix = "hsfleet-hs-bind-v1\n"

// Transcript is what `hs.bind` signs (plan §2.3). Absent values are "".
//
//	field      confirm (responder)            first request (initiator)
//	From       our id                         our id
//	To         initiator id                   responder id
//	Type       "response"                     "init"
//	Echo       your_ref of the reconnect      your_nonce (the confirm's nonce)
//	           answered, else ""
//	Nonce      my_nonce                       my_nonce
//	KxPub      our hs kx_pub                  our hs kx_pub
//	PeerKxPub  ""                             the confirm hs's kx_pub
//	TS         hs timestamp                   hs timestamp
type Transcript struct {
	From      string
	To        string
	Type      string
	Echo      string
	Nonce     string
	KxPub     string
	PeerKxPub string
	TS        string
}

var transcriptNames = []string{"from", "to", "type", "echo", "nonce", "kx_pub", "peer_kx_pub", "ts"}

func (t Transcript) values() []string {
	return []string{t.From, t.To, t.Type, t.Echo, t.Nonce, t.KxPub, t.PeerKxPub, t.TS}
}

// Check reports whether every field is within MaxField and valid UTF-8.
func (t Transcript) Check() error {
	return checkFields(transcriptNames, t.values()...)
}

// Bytes returns TranscriptPrefix followed by the canonical JSON of the
// fields (crypto.CanonicalJSON: sorted keys, compact, ASCII escapes).
// Callers that sign or verify use Sign and Verify, which Check first.
func (t Transcript) Bytes() []byte {
	return prefixedCanonical(TranscriptPrefix, transcriptNames, t.values())
}

// Sign returns the standard base64 (padded, 88 characters) Ed25519
// signature of Bytes under priv: the value of `hs.bind`.
func (t Transcript) Sign(priv ed25519.PrivateKey) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: Ed25519 private key is %d bytes", ErrBadKey, len(priv))
	}
	if err := t.Check(); err != nil {
		return "", err
	}
	return b64.EncodeToString(ed25519.Sign(priv, t.Bytes())), nil
}

// Verify checks sigB64, the received `hs.bind`, against pub (the sign_pub
// the hs was already verified with). "" is ErrNoBind; a value that is not
// a padded base64 64-byte signature, or does not verify, is ErrBadBind;
// an over-long or non-UTF-8 field is ErrFieldTooLong/ErrBadField. Cheap
// checks come before the signature check.
func (t Transcript) Verify(pub ed25519.PublicKey, sigB64 string) error {
	if sigB64 == "" {
		return ErrNoBind
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: Ed25519 public key is %d bytes", ErrBadKey, len(pub))
	}
	sig, ok := decodeB64(sigB64, ed25519.SignatureSize)
	if !ok {
		return fmt.Errorf("%w: not a padded base64 Ed25519 signature", ErrBadBind)
	}
	if err := t.Check(); err != nil {
		return err
	}
	if !ed25519.Verify(pub, t.Bytes(), sig) {
		return ErrBadBind
	}
	return nil
}

// BindOf returns the `bind` value of a received hs object: ("", nil) when
// the key is absent (a legacy peer), ErrBadBind when it is present but not
// a string. It accepts the map the wire decoder produced.
func BindOf(hs any) (string, error) {
	m, ok := hs.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%w: hs is not an object", ErrBadBind)
	}
	return optionalString(m, HSKey, ErrBadBind)
}

// HSKey is the key of the transcript signature inside an hs object.
const HSKey = "bind"
