package crypto

import (
	"crypto/rand"
	"encoding/hex"
)

// NewNonce returns 16 random bytes as 32 lowercase hex characters, like
// HSAgent_1's secrets.token_hex(16). Nonces that are also JSON numbers
// ("1234…", "1e5…") are redrawn: a Python receiver would turn them into a
// float and the exchange would stall (spec §1.8). About one draw in 850,000
// is redrawn, which costs no meaningful entropy.
func NewNonce() string {
	var b [16]byte
	var s [32]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
		hex.Encode(s[:], b[:])
		if !isJSONNumber(s[:]) {
			return string(s[:])
		}
	}
}

// isJSONNumber reports whether a lowercase hex string parses as a JSON
// number: (0|[1-9][0-9]*)(e[0-9]+)? — hex has no '.', '+' or '-'.
func isJSONNumber(s []byte) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (s[0] == '0' && i > 1) {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != 'e' || i+1 == len(s) {
		return false
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// NewReference returns 10 digits from 1-9, the reference's token format. The
// reference uses a non-cryptographic PRNG; we draw from crypto/rand.
func NewReference() string {
	var out [10]byte
	var b [1]byte
	for i := 0; i < len(out); {
		_, _ = rand.Read(b[:])
		if b[0] >= 252 { // 252 = 28*9: reject so every digit is equally likely
			continue
		}
		out[i] = '1' + b[0]%9
		i++
	}
	return string(out[:])
}

// newUUID4 returns a random RFC 9562 version-4 UUID in lowercase, like
// Python's str(uuid.uuid4()).
func newUUID4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
