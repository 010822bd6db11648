package bind

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// sealOpen seals plain with crypto.SealSec and opens it with
// crypto.OpenSec, as the two engines do.
func sealOpen(t *testing.T, plain map[string]any) (map[string]any, map[string]any) {
	t.Helper()
	priv := testKey(t, "sealer")
	sec, err := crypto.SealSec(plain, testSessionKey(), priv, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	opened, err := crypto.OpenSec(sec, testSessionKey(), testPub(priv))
	if err != nil {
		t.Fatal(err)
	}
	return sec, opened
}

func TestHeaderSealedAndOpenedMatchesOuterPayload(t *testing.T) {
	h := testHeader()
	plain, err := h.Plaintext("How are you?")
	if err != nil {
		t.Fatal(err)
	}
	_, opened := sealOpen(t, plain)
	if opened[MessageKey] != "How are you?" {
		t.Fatalf("message = %v", opened[MessageKey])
	}
	if err := Check(opened, h); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestHeaderPlaintextIsTheDocumentedBytes(t *testing.T) {
	plain, err := testHeader().Plaintext("How are you?")
	if err != nil {
		t.Fatal(err)
	}
	got, err := crypto.CanonicalJSON(plain)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"hsf":{"from":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d","intent":"request",` +
		`"my_nonce":"ffeeddccbbaa99887766554433221100","to":"3f2c1a9e-8b7d-4c6e-9f01-23456789abcd",` +
		`"v":"1","your_nonce":"00112233445566778899aabbccddeeff"},"message":"How are you?"}`
	if string(got) != want {
		t.Fatalf("plaintext\n got %s\nwant %s", got, want)
	}
}

// Item 3 of the issue: a sec lifted onto another request names the field
// that differs.
func TestHeaderMismatchNamesTheField(t *testing.T) {
	h := testHeader()
	plain, err := h.Plaintext("m")
	if err != nil {
		t.Fatal(err)
	}
	_, opened := sealOpen(t, plain)
	for i, name := range headerNames {
		outer := h
		ptrs := []*string{&outer.From, &outer.To, &outer.Intent, &outer.MyNonce, &outer.YourNonce}
		*ptrs[i] = "other"
		err := Check(opened, outer)
		if !errors.Is(err, ErrBindMismatch) || !strings.HasSuffix(err.Error(), ": "+name) {
			t.Errorf("%s differs: err = %v, want ErrBindMismatch naming it", name, err)
		}
	}
}

func TestParseHeaderRejectsMalformedHeaders(t *testing.T) {
	good := func() map[string]any {
		p, err := testHeader().Plaintext("m")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hsf := func(p map[string]any) map[string]any { return p[PlaintextKey].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(p map[string]any)
		want   error
	}{
		{"no header (legacy or stripped)", func(p map[string]any) { delete(p, PlaintextKey) }, ErrNoHeader},
		{"header is a string", func(p map[string]any) { p[PlaintextKey] = "x" }, ErrBadHeader},
		{"header is null", func(p map[string]any) { p[PlaintextKey] = nil }, ErrBadHeader},
		{"unknown version", func(p map[string]any) { hsf(p)["v"] = "2" }, ErrBadHeader},
		{"version missing", func(p map[string]any) { delete(hsf(p), "v") }, ErrBadHeader},
		{"field missing", func(p map[string]any) { delete(hsf(p), "my_nonce") }, ErrBadHeader},
		{"field not a string", func(p map[string]any) { hsf(p)["to"] = int64(1) }, ErrBadHeader},
		{"field over-long", func(p map[string]any) { hsf(p)["from"] = strings.Repeat("a", MaxField+1) }, ErrBadHeader},
		{"extra key ignored", func(p map[string]any) { hsf(p)["kx"] = "future" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.mutate(p)
			_, err := ParseHeader(p)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHeaderPlaintextRejectsBadFields(t *testing.T) {
	h := testHeader()
	h.MyNonce = strings.Repeat("n", MaxField+1)
	if _, err := h.Plaintext("m"); !errors.Is(err, ErrFieldTooLong) {
		t.Fatalf("err = %v, want ErrFieldTooLong", err)
	}
}

func TestEnvelopeFresh(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	env := func(ts any) any {
		return map[string]any{"envelope": map[string]any{"ts": ts}, "sig": "x"}
	}
	tests := []struct {
		name string
		sec  any
		want error
	}{
		{"now", env("2025-01-01T12:00:00"), nil},
		{"59 s old", env("2025-01-01T11:59:01"), nil},
		{"59 s ahead", env("2025-01-01T12:00:59"), nil},
		{"61 s old", env("2025-01-01T11:58:59"), ErrEnvelopeTS},
		{"61 s ahead", env("2025-01-01T12:01:01"), ErrEnvelopeTS},
		{"zone suffix", env("2025-01-01T12:00:00+00:00"), ErrEnvelopeTS},
		{"ts not a string", env(int64(5)), ErrEnvelopeTS},
		{"no envelope", map[string]any{}, ErrEnvelopeTS},
		{"sec not an object", "sec", ErrEnvelopeTS},
		{"nil", nil, ErrEnvelopeTS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := EnvelopeFresh(tc.sec, now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	sec, _ := sealOpen(t, map[string]any{"message": "m"})
	if err := EnvelopeFresh(sec, time.Now()); err != nil {
		t.Fatalf("fresh SealSec envelope: %v", err)
	}
}
