package crypto

import (
	"bytes"
	"sync"
)

// Memoize the identity KDF for the whole test binary: many tests open the
// same (passphrase, salt). The real scrypt still computes every key, once;
// TestVectorScryptKey checks it against the reference independently.
// Benchmarks call withoutKDFMemo to measure the real cost.
func init() {
	var mu sync.Mutex
	memo := map[string][]byte{}
	real := deriveIdentityKey
	realDeriveIdentityKey = real
	deriveIdentityKey = func(passphrase, salt []byte) ([]byte, error) {
		k := string(passphrase) + "\x00" + string(salt)
		mu.Lock()
		defer mu.Unlock()
		if key, ok := memo[k]; ok {
			return bytes.Clone(key), nil // callers clear their copy
		}
		key, err := real(passphrase, salt)
		if err != nil {
			return nil, err
		}
		memo[k] = bytes.Clone(key)
		return key, nil
	}
}

var realDeriveIdentityKey func(passphrase, salt []byte) ([]byte, error)

// withoutKDFMemo restores the real KDF until the returned func is called.
func withoutKDFMemo() (restore func()) {
	memoized := deriveIdentityKey
	deriveIdentityKey = realDeriveIdentityKey
	return func() { deriveIdentityKey = memoized }
}
