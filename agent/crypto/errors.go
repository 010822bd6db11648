package crypto

import "errors"

// Handshake errors, in the order ValidateHandshake checks them.
var (
	ErrWrongType     = errors.New("hs: wrong message type")
	ErrBadTimestamp  = errors.New("hs: invalid timestamp")
	ErrNonceMismatch = errors.New("hs: nonce mismatch")
	ErrReplay        = errors.New("hs: nonce already used")
	ErrStale         = errors.New("hs: timestamp too old")
	ErrFuture        = errors.New("hs: timestamp in the future")
	ErrBadSignature  = errors.New("crypto: bad signature")
	ErrBadKey        = errors.New("crypto: malformed key")
	ErrLowOrder      = errors.New("crypto: low-order public key")
	ErrBadHandshake  = errors.New("hs: malformed handshake object")
)

// Envelope errors.
var (
	ErrBadEnvelope  = errors.New("sec: malformed envelope")
	ErrDecrypt      = errors.New("sec: decryption failed")
	ErrHashMismatch = errors.New("sec: plaintext hash mismatch")
	ErrBadPlaintext = errors.New("sec: plaintext is not a JSON object")
)

// Identity file errors.
var (
	ErrIdentityFormat     = errors.New("identity: malformed file")
	ErrIdentityVersion    = errors.New("identity: unsupported version")
	ErrIdentityDecrypt    = errors.New("identity: wrong passphrase or corrupted file")
	ErrIdentityTooLarge   = errors.New("identity: file too large")
	ErrIdentityName       = errors.New("identity: invalid name")
	ErrIdentityPassphrase = errors.New("identity: invalid passphrase")
)
