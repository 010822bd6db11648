package bind

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

const (
	// FinalizeInfo is the HKDF info deriving the finalize key (plan §3).
	FinalizeInfo = "hsfleet finalize v1"
	// MACPrefix starts every MAC input.
	MACPrefix = "hsfleet-fin-v1\n"
	// KeySize is the finalize key length and the MAC length.
	KeySize = sha256.Size
	// PayloadKey is the payload key carrying the MAC.
	PayloadKey = "mac"
)

// FinalizeKey derives Kf = HKDF-SHA256(ikm = sessionKey, salt = none,
// info = "hsfleet finalize v1", 32 bytes): never the AES key itself. A
// session key that is not crypto.SessionKeySize bytes gives nil, which
// MAC and VerifyMAC refuse with ErrBadKey.
func FinalizeKey(sessionKey []byte) []byte {
	if len(sessionKey) != crypto.SessionKeySize {
		return nil
	}
	kf, err := hkdf.Key(sha256.New, sessionKey, nil, FinalizeInfo, KeySize)
	if err != nil {
		// Only a length over 255*32 fails; KeySize is constant.
		panic(fmt.Sprintf("bind: hkdf: %v", err))
	}
	return kf
}

// Fields are the payload fields a finalize MAC covers (plan §3); absent
// fields are "".
type Fields struct {
	From      string
	To        string
	Intent    string
	YourNonce string
	YourRef   string
	MyRef     string
}

var macNames = []string{"from", "to", "intent", "your_nonce", "your_ref", "my_ref"}

func (f Fields) values() []string {
	return []string{f.From, f.To, f.Intent, f.YourNonce, f.YourRef, f.MyRef}
}

// Bytes is the MAC input: MACPrefix || CanonicalJSON of the six fields.
func (f Fields) Bytes() []byte {
	return prefixedCanonical(MACPrefix, macNames, f.values())
}

// MAC returns b64(HMAC-SHA256(kf, f.Bytes())), 44 characters ending in
// "=": the value of `mac`.
func MAC(kf []byte, f Fields) (string, error) {
	sum, err := macBytes(kf, f)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(sum), nil
}

// VerifyMAC checks a received `mac` in constant time: "" is ErrNoMAC, a
// value that is not a padded base64 32-byte string or does not match is
// ErrBadMAC. Cheap checks come before the HMAC.
func VerifyMAC(kf []byte, f Fields, macB64 string) error {
	if macB64 == "" {
		return ErrNoMAC
	}
	got, ok := decodeB64(macB64, KeySize)
	if !ok {
		return fmt.Errorf("%w: not a padded base64 32-byte mac", ErrBadMAC)
	}
	want, err := macBytes(kf, f)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, want) {
		return ErrBadMAC
	}
	return nil
}

func macBytes(kf []byte, f Fields) ([]byte, error) {
	if len(kf) != KeySize {
		return nil, fmt.Errorf("%w: finalize key is %d bytes, want %d", ErrBadKey, len(kf), KeySize)
	}
	if err := checkFields(macNames, f.values()...); err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, kf)
	h.Write(f.Bytes())
	return h.Sum(nil), nil
}

// MACOf returns the `mac` value of a received payload: ("", nil) when
// absent, ErrBadMAC when present but not a non-empty string.
func MACOf(payload map[string]any) (string, error) {
	return optionalString(payload, PayloadKey, ErrBadMAC)
}
