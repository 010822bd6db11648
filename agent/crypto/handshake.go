package crypto

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"
)

const (
	// HandshakeTTL is how far an hs timestamp may be from our clock, in
	// either direction (the reference checks only the past).
	HandshakeTTL = 60 * time.Second
	// TimestampLayout is Python's datetime.isoformat() without fraction or
	// zone. hsfleet always writes and reads it as UTC.
	TimestampLayout = "2006-01-02T15:04:05"
)

// Handshake types as HSAgent_1 sends them.
const (
	HandshakeInit     = "init"
	HandshakeResponse = "response"
)

// Handshake is the "hs" object carried by confirm and the first request.
type Handshake struct {
	Type      string `json:"type"`
	Nonce     string `json:"nonce"`
	KxPub     string `json:"kx_pub"`
	SignPub   string `json:"sign_pub"`
	Timestamp string `json:"timestamp"`
	Sig       string `json:"sig"`
}

// BuildHandshake signs nonce|kx_pub|timestamp with signPriv. The timestamp
// is now in UTC at second precision.
func BuildHandshake(typ, nonce string, kxPriv *ecdh.PrivateKey, signPriv ed25519.PrivateKey, now time.Time) Handshake {
	h := Handshake{
		Type:      typ,
		Nonce:     nonce,
		KxPub:     base64.StdEncoding.EncodeToString(kxPriv.PublicKey().Bytes()),
		SignPub:   base64.StdEncoding.EncodeToString(signPriv.Public().(ed25519.PublicKey)),
		Timestamp: now.UTC().Format(TimestampLayout),
	}
	h.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(signPriv, h.SignedBytes()))
	return h
}

// SignedBytes is what the signature covers: the three strings exactly as
// they appear in the JSON, joined by "|".
func (h Handshake) SignedBytes() []byte {
	b := make([]byte, 0, len(h.Nonce)+len(h.KxPub)+len(h.Timestamp)+2)
	b = append(b, h.Nonce...)
	b = append(b, '|')
	b = append(b, h.KxPub...)
	b = append(b, '|')
	return append(b, h.Timestamp...)
}

// Payload returns h as a wire object.
func (h Handshake) Payload() map[string]any {
	return map[string]any{
		"type":      h.Type,
		"nonce":     h.Nonce,
		"kx_pub":    h.KxPub,
		"sign_pub":  h.SignPub,
		"timestamp": h.Timestamp,
		"sig":       h.Sig,
	}
}

// HandshakeFromPayload reads an hs object decoded from the wire. Every field
// must be present and a string; extra fields are ignored, like the reference.
func HandshakeFromPayload(v any) (Handshake, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Handshake{}, fmt.Errorf("%w: hs is %T, not an object", ErrBadHandshake, v)
	}
	var h Handshake
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"type", &h.Type}, {"nonce", &h.Nonce}, {"kx_pub", &h.KxPub},
		{"sign_pub", &h.SignPub}, {"timestamp", &h.Timestamp}, {"sig", &h.Sig},
	} {
		s, ok := m[f.key].(string)
		if !ok {
			return Handshake{}, fmt.Errorf("%w: field %q missing or not a string", ErrBadHandshake, f.key)
		}
		*f.dst = s
	}
	return h, nil
}
