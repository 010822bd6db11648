package bind

import (
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// Per cycle the plan (§8) adds 2 transcript signs + 2 verifies, 1 HKDF,
// 3 MACs + 3 checks and ~120 bytes per sealed plaintext; these measure each.

func BenchmarkTranscriptSign(b *testing.B) {
	priv, tr := testKey(b, "bench"), requestTranscript()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Sign(priv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranscriptVerify(b *testing.B) {
	priv, tr := testKey(b, "bench"), requestTranscript()
	sig, err := tr.Sign(priv)
	if err != nil {
		b.Fatal(err)
	}
	pub := testPub(priv)
	b.ReportAllocs()
	for b.Loop() {
		if err := tr.Verify(pub, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFinalizeKey(b *testing.B) {
	sk := testSessionKey()
	b.ReportAllocs()
	for b.Loop() {
		_ = FinalizeKey(sk)
	}
}

func BenchmarkMAC(b *testing.B) {
	kf, f := FinalizeKey(testSessionKey()), testFields()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MAC(kf, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMAC(b *testing.B) {
	kf, f := FinalizeKey(testSessionKey()), testFields()
	mac, err := MAC(kf, f)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyMAC(kf, f, mac); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeaderCheck is the opener's extra work per sealed message.
func BenchmarkHeaderCheck(b *testing.B) {
	h := testHeader()
	plain, err := h.Plaintext("How are you?")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(plain, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealOpen compares one sealed message with and without the hsf
// header (sub-benchmarks legacy and bound), so the header's share shows.
func BenchmarkSealOpen(b *testing.B) {
	priv, key := testKey(b, "bench"), testSessionKey()
	pub := testPub(priv)
	h := testHeader()
	bound, err := h.Plaintext("How are you?")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		plain map[string]any
	}{{"legacy", map[string]any{MessageKey: "How are you?"}}, {"bound", bound}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sec, err := crypto.SealSec(c.plain, key, priv, benchNow)
				if err != nil {
					b.Fatal(err)
				}
				opened, err := crypto.OpenSec(sec, key, pub)
				if err != nil {
					b.Fatal(err)
				}
				if c.name == "bound" {
					if err := Check(opened, h); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
