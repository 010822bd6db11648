package protocol

import (
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// FuzzBootProof feeds arbitrary boot fields to the parser and verifier:
// no input may panic, and nothing but the signer's own proof verifies.
//
//	go test -run '^$' -fuzz FuzzBootProof -fuzztime 30s ./agent/protocol
func FuzzBootProof(f *testing.F) {
	id := mustIdentity(f, "a")
	policy := trust.NewPolicy(trust.Fleet, trust.Bundle{id.ID: id.SignPub()})
	genuine, err := BootProof(id.ID, id.SignPriv, time.Unix(1_700_000_000, 5))
	if err != nil {
		f.Fatal(err)
	}
	ts, pub, sig := genuine["ts"].(string), genuine["sign_pub"].(string), genuine["sig"].(string)
	f.Add(ts, pub, sig)
	f.Add("", "", "")
	f.Add("2026-12-04T18:00:00Z", pub, sig)
	f.Add(ts, pub, sig[:len(sig)-2]+"==")
	f.Fuzz(func(t *testing.T, ts2, pub2, sig2 string) {
		raw := map[string]any{"ts": ts2, "sign_pub": pub2, "sig": sig2}
		bootTime(raw)
		_, err := VerifyBootProof(raw, id.ID, "", policy)
		if err == nil && (ts2 != ts || pub2 != pub) {
			t.Fatalf("forged proof verified: %q %q %q", ts2, pub2, sig2)
		}
	})
}
