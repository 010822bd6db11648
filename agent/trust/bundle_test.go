package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

func newKey(t testing.TB) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestParseBundle(t *testing.T) {
	k := newKey(t)
	b64 := base64.StdEncoding.EncodeToString(k)
	tests := []struct {
		name    string
		in      string
		wantErr bool
		wantLen int
	}{
		{"valid bundle with one agent", `{"a1":"` + b64 + `"}`, false, 1},
		{"empty object is an empty bundle", `{}`, false, 0},
		{"null is refused", `null`, true, 0},
		{"array is refused", `[]`, true, 0},
		{"short key is refused", `{"a1":"AAAA"}`, true, 0},
		{"non-base64 key is refused", `{"a1":"!!!"}`, true, 0},
		{"non-string key is refused", `{"a1":5}`, true, 0},
		{"empty agent ID is refused", `{"":"` + b64 + `"}`, true, 0},
		{"truncated JSON is refused", `{"a1":`, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBundle([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadBundle) {
					t.Fatalf("err = %v, want ErrBadBundle", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.wantLen {
				t.Fatalf("len = %d, want %d", len(b), tc.wantLen)
			}
		})
	}
}

func TestBundleMarshalRoundTrips(t *testing.T) {
	b := Bundle{"a": newKey(t), "b": newKey(t)}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	for id, k := range b {
		if !got[id].Equal(k) {
			t.Fatalf("key of %s changed in the round trip", id)
		}
	}
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"a1":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		for id, k := range b {
			if id == "" || len(k) != ed25519.PublicKeySize {
				t.Fatalf("accepted bad entry %q (%d bytes)", id, len(k))
			}
		}
	})
}
