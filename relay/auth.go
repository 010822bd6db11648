package relay

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Authenticated registration (docs/relay-auth.md). An hsfleet client may
// open a connection with one hello line; the relay answers with a fresh
// challenge, the client signs it with the Ed25519 key the trust bundle
// holds for its agent ID, and the relay binds that ID to the connection.
//
// Every auth line starts with authPrefix. The relay never relays such a
// line, and it sends them only to a client that sent a hello first, so a
// Python client, which never does, sees no new line. A relayed line always
// starts with {"remote_addr": , so no other client can forge a relay's
// auth line.
//
//	client -> relay  {"hsfleet_relay_auth":"hello","v":1,"id":"<agent id>"}
//	relay -> client  {"hsfleet_relay_auth":"challenge","v":1,"nonce":"<base64 32 bytes>"}
//	client -> relay  {"hsfleet_relay_auth":"response","sig":"<base64 64 bytes>"}
//	relay -> client  {"hsfleet_relay_auth":"ok","id":"<agent id>"}
//	              or {"hsfleet_relay_auth":"refused","reason":"<reason>"}
//	              or {"hsfleet_relay_auth":"unavailable"}  (relay without a bundle)
//
// The signature covers authSignContext || nonce || id: a context no other
// hsfleet signature starts with, the relay's per-connection nonce (single
// use, so a captured response is worthless on any other connection), and
// the claimed ID.

const (
	authPrefix      = `{"hsfleet_relay_auth":`
	authVersion     = 1
	authNonceSize   = 32
	authSignContext = "hsfleet relay auth v1\x00"
	// maxAuthLine bounds an auth line; the longest legal one (a hello with
	// a 128-byte id) is under 200 bytes.
	maxAuthLine = 512
)

// Auth message types, the value of the hsfleet_relay_auth key.
const (
	authHello       = "hello"
	authChallenge   = "challenge"
	authResponse    = "response"
	authOK          = "ok"
	authRefused     = "refused"
	authUnavailable = "unavailable"
)

// Refusal reasons, also auth_attempts_total result labels.
const (
	authResultOK           = "ok"
	authResultUnknownID    = "unknown_id"
	authResultBadSignature = "bad_signature"
	authResultMalformed    = "malformed"
	authResultTimeout      = "timeout"
	authResultUnavailable  = "unavailable"
)

// ErrBadAuthLine: an auth line that does not parse, or breaks a rule.
var ErrBadAuthLine = errors.New("relay auth: malformed auth line")

// authMsg is every field any auth line may carry.
type authMsg struct {
	Type   string `json:"hsfleet_relay_auth"`
	V      int    `json:"v,omitempty"`
	ID     string `json:"id,omitempty"`
	Nonce  string `json:"nonce,omitempty"`
	Sig    string `json:"sig,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// isAuthLine reports whether line is meant as an auth line.
func isAuthLine(line []byte) bool { return bytes.HasPrefix(line, []byte(authPrefix)) }

// parseAuthLine decodes one auth line (without its "\n") strictly: at most
// maxAuthLine bytes, the auth prefix, no unknown fields, no trailing data,
// and the fields its type needs in their exact shape.
func parseAuthLine(line []byte) (authMsg, error) {
	var m authMsg
	if len(line) > maxAuthLine {
		return m, fmt.Errorf("%w: %d bytes, limit %d", ErrBadAuthLine, len(line), maxAuthLine)
	}
	if !isAuthLine(line) {
		return m, fmt.Errorf("%w: missing %s", ErrBadAuthLine, authPrefix)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return authMsg{}, fmt.Errorf("%w: %w", ErrBadAuthLine, err)
	}
	if dec.More() || dec.InputOffset() != int64(len(line)) {
		return authMsg{}, fmt.Errorf("%w: trailing data", ErrBadAuthLine)
	}
	if err := m.check(); err != nil {
		return authMsg{}, err
	}
	return m, nil
}

// check enforces the shape of each message type.
func (m authMsg) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s %s", ErrBadAuthLine, m.Type, what) }
	switch m.Type {
	case authHello:
		if m.V != authVersion {
			return bad(fmt.Sprintf("version %d, want %d", m.V, authVersion))
		}
		if !validAuthID(m.ID) {
			return bad("id must be 1-128 printable ASCII bytes")
		}
	case authChallenge:
		if m.V != authVersion {
			return bad(fmt.Sprintf("version %d, want %d", m.V, authVersion))
		}
		if n, err := base64.StdEncoding.DecodeString(m.Nonce); err != nil || len(n) != authNonceSize {
			return bad("nonce must be base64 of 32 bytes")
		}
	case authResponse:
		if s, err := base64.StdEncoding.DecodeString(m.Sig); err != nil || len(s) != ed25519.SignatureSize {
			return bad("sig must be base64 of 64 bytes")
		}
	case authOK:
		if !validAuthID(m.ID) {
			return bad("id must be 1-128 printable ASCII bytes")
		}
	case authRefused:
		if m.Reason == "" || len(m.Reason) > 64 || !utf8.ValidString(m.Reason) {
			return bad("reason missing or too long")
		}
	case authUnavailable:
	default:
		return fmt.Errorf("%w: unknown type %.32q", ErrBadAuthLine, m.Type)
	}
	return nil
}

// validAuthID accepts the ids a relay binds: 1 to maxRouteID bytes of
// printable ASCII without quote or backslash, so an id always appears in
// a JSON line verbatim (the claim scanner compares raw bytes).
func validAuthID(id string) bool {
	if len(id) == 0 || len(id) > maxRouteID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// encodeAuthLine renders m as one line with its "\n".
func encodeAuthLine(m authMsg) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only strings and an int: cannot fail
	}
	return append(b, '\n')
}

// authSignedBytes is what a client signs for nonce and id.
func authSignedBytes(nonce []byte, id string) []byte {
	b := make([]byte, 0, len(authSignContext)+len(nonce)+len(id))
	b = append(b, authSignContext...)
	b = append(b, nonce...)
	return append(b, id...)
}

// signAuth signs a challenge nonce for id.
func signAuth(key ed25519.PrivateKey, nonce []byte, id string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, authSignedBytes(nonce, id)))
}

// verifyAuth checks a response signature against the bundle key.
func verifyAuth(pub ed25519.PublicKey, nonce []byte, id, sig string) bool {
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, authSignedBytes(nonce, id), s)
}

// provingKey returns the first of keys the signature verifies under, or
// nil: at most a rotation's few keys, each tried once.
func provingKey(keys []ed25519.PublicKey, nonce []byte, id, sig string) ed25519.PublicKey {
	for _, k := range keys {
		if verifyAuth(k, nonce, id, sig) {
			return k
		}
	}
	return nil
}
