// Package crypto is HSAgent_1's crypto_utils.py in Go, byte-compatible with
// it (protocol spec §4): the signed "hs" handshake object, the X25519 +
// HKDF-SHA256 session key, the signed and AES-256-GCM sealed "sec" envelope,
// and the scrypt-sealed identity file. Where the reference is lax we are
// strict without changing the bytes on the wire: future timestamps and
// low-order keys are rejected, and every failure is a typed error.
package crypto
