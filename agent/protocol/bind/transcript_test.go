package bind

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

func TestTranscriptSignVerifyRoundTrips(t *testing.T) {
	priv := testKey(t, "responder")
	for _, tr := range []Transcript{confirmTranscript(), requestTranscript()} {
		sig, err := tr.Sign(priv)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 88 || !strings.HasSuffix(sig, "==") {
			t.Fatalf("bind %q: want 88 padded base64 characters", sig)
		}
		if err := tr.Verify(testPub(priv), sig); err != nil {
			t.Fatalf("verify own signature: %v", err)
		}
	}
}

func TestTranscriptVerifyFailsWhenAnyFieldChanges(t *testing.T) {
	priv := testKey(t, "initiator")
	tr := requestTranscript()
	sig, err := tr.Sign(priv)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range transcriptNames {
		changed := tr
		ptrs := []*string{&changed.From, &changed.To, &changed.Type, &changed.Echo,
			&changed.Nonce, &changed.KxPub, &changed.PeerKxPub, &changed.TS}
		*ptrs[i] += "x"
		if err := changed.Verify(testPub(priv), sig); !errors.Is(err, ErrBadBind) {
			t.Errorf("%s changed: err = %v, want ErrBadBind", name, err)
		}
	}
}

// Item 1 of the issue: a confirm Y sent to C, re-addressed to A, must not
// bind for A.
func TestTranscriptReaddressedConfirmFails(t *testing.T) {
	priv := testKey(t, "Y")
	toC := confirmTranscript()
	toC.To = "C"
	sig, err := toC.Sign(priv)
	if err != nil {
		t.Fatal(err)
	}
	toA := toC
	toA.To = "A"
	if err := toA.Verify(testPub(priv), sig); !errors.Is(err, ErrBadBind) {
		t.Fatalf("re-addressed confirm: err = %v, want ErrBadBind", err)
	}
}

func TestTranscriptVerifyRejectsMalformedInput(t *testing.T) {
	priv := testKey(t, "responder")
	tr := confirmTranscript()
	sig, err := tr.Sign(priv)
	if err != nil {
		t.Fatal(err)
	}
	other := testPub(testKey(t, "other"))
	long := tr
	long.From = strings.Repeat("a", MaxField+1)
	bad := tr
	bad.To = "\xff"
	// The last base64 character carries 2 padding bits; flip them.
	last := sig[85]
	nonCanonical := sig[:85] + string(last^1) + "=="
	tests := []struct {
		name string
		tr   Transcript
		pub  ed25519.PublicKey
		sig  string
		want error
	}{
		{"empty bind is ErrNoBind", tr, testPub(priv), "", ErrNoBind},
		{"another key", tr, other, sig, ErrBadBind},
		{"short public key", tr, other[:31], sig, ErrBadKey},
		{"unpadded base64", tr, testPub(priv), strings.TrimRight(sig, "="), ErrBadBind},
		{"raw URL base64", tr, testPub(priv), strings.NewReplacer("+", "-", "/", "_").Replace(sig) + "x", ErrBadBind},
		{"non-canonical padding bits", tr, testPub(priv), nonCanonical, ErrBadBind},
		{"not base64", tr, testPub(priv), strings.Repeat("!", 88), ErrBadBind},
		{"megabyte bind", tr, testPub(priv), strings.Repeat("A", 1<<20), ErrBadBind},
		{"over-long field", long, testPub(priv), sig, ErrFieldTooLong},
		{"invalid UTF-8 field", bad, testPub(priv), sig, ErrBadField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.tr.Verify(tc.pub, tc.sig); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTranscriptSignRejectsBadKeyAndFields(t *testing.T) {
	if _, err := confirmTranscript().Sign(ed25519.PrivateKey{1, 2}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("short key: err = %v", err)
	}
	tr := confirmTranscript()
	tr.Echo = strings.Repeat("e", MaxField+1)
	if _, err := tr.Sign(testKey(t, "k")); !errors.Is(err, ErrFieldTooLong) {
		t.Fatalf("long field: err = %v", err)
	}
}

// The same Ed25519 key signs the legacy nonce|kx_pub|ts string and the
// transcript; neither may verify as the other (plan §2.3).
func TestTranscriptIsDomainSeparatedFromLegacyHS(t *testing.T) {
	id, err := crypto.NewIdentity("sep")
	if err != nil {
		t.Fatal(err)
	}
	tr := confirmTranscript()
	hs := crypto.BuildHandshake(crypto.HandshakeResponse, tr.Nonce, id.KxPriv, id.SignPriv, mustTS(t, tr.TS))
	tr.KxPub = hs.KxPub
	if !bytes.HasPrefix(tr.Bytes(), []byte(TranscriptPrefix)) {
		t.Fatalf("transcript %q lacks the prefix", tr.Bytes())
	}
	if err := tr.Verify(testPub(id.SignPriv), hs.Sig); !errors.Is(err, ErrBadBind) {
		t.Fatalf("legacy hs sig accepted as bind: %v", err)
	}
	bind, err := tr.Sign(id.SignPriv)
	if err != nil {
		t.Fatal(err)
	}
	hs.Sig = bind
	store := memNonces{}
	if _, err := crypto.ValidateHandshake(t.Context(), hs, crypto.HandshakeResponse, tr.Nonce, store, id.KxPriv, mustTS(t, tr.TS)); !errors.Is(err, crypto.ErrBadSignature) {
		t.Fatalf("bind accepted as the legacy hs sig: %v", err)
	}
}

func TestBindOf(t *testing.T) {
	tests := []struct {
		name string
		hs   any
		want string
		err  error
	}{
		{"absent is legacy", map[string]any{"sig": "x"}, "", nil},
		{"string", map[string]any{"bind": "abc="}, "abc=", nil},
		{"empty string", map[string]any{"bind": ""}, "", ErrBadBind},
		{"number (json.loads hazard)", map[string]any{"bind": int64(5)}, "", ErrBadBind},
		{"hs not an object", "hs", "", ErrBadBind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BindOf(tc.hs)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("BindOf = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
