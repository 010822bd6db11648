package bind

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/wire/pyjson"
)

// FuzzTranscript: hostile fields and bind values never panic; valid
// fields sign and verify (round trip), the bytes decode back to the same
// fields (the encoding is injective), and a hostile bind never verifies.
func FuzzTranscript(f *testing.F) {
	c, r := confirmTranscript(), requestTranscript()
	for _, tr := range []Transcript{c, r} {
		f.Add(tr.From, tr.To, tr.Type, tr.Echo, tr.Nonce, tr.KxPub, tr.PeerKxPub, tr.TS, "")
	}
	f.Add("a\x00", "\xff", "\"", "\\", "\u2028", "😀", strings.Repeat("x", MaxField+1), "", strings.Repeat("A", 86)+"==")
	priv := testKey(f, "fuzz")
	pub := testPub(priv)
	f.Fuzz(func(t *testing.T, from, to, typ, echo, nonce, kx, peerKx, ts, hostile string) {
		tr := Transcript{From: from, To: to, Type: typ, Echo: echo, Nonce: nonce, KxPub: kx, PeerKxPub: peerKx, TS: ts}
		b := tr.Bytes()
		if !bytes.HasPrefix(b, []byte(TranscriptPrefix)) {
			t.Fatalf("bytes lack the prefix: %q", b)
		}
		hostileErr := tr.Verify(pub, hostile)
		if hostileErr == nil {
			t.Fatalf("hostile bind %q verified", hostile)
		}
		sig, err := tr.Sign(priv)
		if checkErr := tr.Check(); checkErr != nil {
			if err == nil || !(errors.Is(err, ErrFieldTooLong) || errors.Is(err, ErrBadField)) {
				t.Fatalf("Sign accepted fields Check refused (%v): %v", checkErr, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Verify(pub, sig); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		obj, err := pyjson.ParseObject(b[len(TranscriptPrefix):], 2)
		if err != nil {
			t.Fatalf("transcript JSON does not parse: %v", err)
		}
		for i, name := range transcriptNames {
			if obj[name] != tr.values()[i] {
				t.Fatalf("%s: bytes hold %q, field is %q", name, obj[name], tr.values()[i])
			}
		}
	})
}

// FuzzBindingHeader: any decrypted plaintext (hostile JSON) parses without
// panic; a header that parses matches itself; and any valid fields built
// with Plaintext survive canonical JSON, the wire parser and ParseHeader.
func FuzzBindingHeader(f *testing.F) {
	plain, err := testHeader().Plaintext("How are you?")
	if err != nil {
		f.Fatal(err)
	}
	good, err := crypto.CanonicalJSON(plain)
	if err != nil {
		f.Fatal(err)
	}
	h := testHeader()
	f.Add(good, h.From, h.To, h.Intent, h.MyNonce, h.YourNonce, "How are you?")
	f.Add([]byte(`{"hsf":{"v":"1"},"message":"m"}`), "", "", "", "", "", "")
	f.Add([]byte(`{"hsf":[],"message":1}`), "\x00", "\xff\xfe", "😀", "\"", "\\u0000", "")
	f.Add([]byte(`{"hsf":{"v":1,"from":null}}`), strings.Repeat("a", MaxField+1), "b", "c", "d", "e", "f")
	f.Fuzz(func(t *testing.T, data []byte, from, to, intent, myNonce, yourNonce, message string) {
		if obj, err := pyjson.ParseObject(data, 32); err == nil {
			if hdr, err := ParseHeader(obj); err == nil {
				if err := hdr.Match(hdr); err != nil {
					t.Fatalf("header does not match itself: %v", err)
				}
				if err := Check(obj, hdr); err != nil {
					t.Fatalf("Check of a parsed header: %v", err)
				}
			} else if !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrBadHeader) {
				t.Fatalf("untyped error %v", err)
			}
		}
		hdr := Header{From: from, To: to, Intent: intent, MyNonce: myNonce, YourNonce: yourNonce}
		p, err := hdr.Plaintext(message)
		if err != nil {
			if !errors.Is(err, ErrFieldTooLong) && !errors.Is(err, ErrBadField) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !utf8.ValidString(message) {
			return // the wire parser refuses invalid UTF-8; the encoder replaces it
		}
		js, err := crypto.CanonicalJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := pyjson.ParseObject(js, 32)
		if err != nil {
			t.Fatalf("plaintext does not parse: %v\n%s", err, js)
		}
		if err := Check(back, hdr); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if back[MessageKey] != message {
			t.Fatalf("message %q came back %q", message, back[MessageKey])
		}
	})
}

// FuzzFinalizeMAC: any key, fields and hostile mac never panic; a MAC made
// with Kf verifies; a hostile mac, another key or another field never does.
func FuzzFinalizeMAC(f *testing.F) {
	fl := testFields()
	f.Add(testSessionKey(), fl.From, fl.To, fl.Intent, fl.YourNonce, fl.YourRef, fl.MyRef, "")
	f.Add([]byte{}, "", "", "conclude", "00112233445566778899aabbccddeeff", "", "1234567891", strings.Repeat("A", 43)+"=")
	f.Add(bytes.Repeat([]byte{1}, 31), "\xff", "\x00", "", "", "", strings.Repeat("9", MaxField+1), "====")
	f.Fuzz(func(t *testing.T, sessionKey []byte, from, to, intent, yourNonce, yourRef, myRef, hostile string) {
		fields := Fields{From: from, To: to, Intent: intent, YourNonce: yourNonce, YourRef: yourRef, MyRef: myRef}
		kf := FinalizeKey(sessionKey)
		if len(sessionKey) != crypto.SessionKeySize {
			if kf != nil {
				t.Fatal("FinalizeKey accepted a session key of the wrong size")
			}
			if err := VerifyMAC(kf, fields, hostile); err == nil {
				t.Fatal("VerifyMAC with no key succeeded")
			}
			return
		}
		mac, err := MAC(kf, fields)
		if err != nil {
			if !errors.Is(err, ErrFieldTooLong) && !errors.Is(err, ErrBadField) {
				t.Fatalf("untyped error %v", err)
			}
			if VerifyMAC(kf, fields, hostile) == nil {
				t.Fatal("VerifyMAC accepted fields MAC refused")
			}
			return
		}
		if err := VerifyMAC(kf, fields, mac); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if hostile != mac && VerifyMAC(kf, fields, hostile) == nil {
			t.Fatalf("hostile mac %q verified", hostile)
		}
		other := fields
		other.Intent += "x"
		if VerifyMAC(kf, other, mac) == nil {
			t.Fatal("mac verified for another intent")
		}
		if VerifyMAC(FinalizeKey(append([]byte{sessionKey[0] ^ 1}, sessionKey[1:]...)), fields, mac) == nil {
			t.Fatal("mac verified under another session key")
		}
	})
}
