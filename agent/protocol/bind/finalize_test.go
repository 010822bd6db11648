package bind

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFinalizeKeyIsDerivedNotTheSessionKey(t *testing.T) {
	sk := testSessionKey()
	kf := FinalizeKey(sk)
	if len(kf) != KeySize {
		t.Fatalf("Kf is %d bytes", len(kf))
	}
	if bytes.Equal(kf, sk) {
		t.Fatal("Kf equals the session key")
	}
	if !bytes.Equal(kf, FinalizeKey(sk)) {
		t.Fatal("FinalizeKey is not deterministic")
	}
	if FinalizeKey(sk[:31]) != nil || FinalizeKey(nil) != nil {
		t.Fatal("FinalizeKey accepted a session key that is not 32 bytes")
	}
}

func TestMACRoundTripsAndIsPythonSafe(t *testing.T) {
	kf := FinalizeKey(testSessionKey())
	mac, err := MAC(kf, testFields())
	if err != nil {
		t.Fatal(err)
	}
	if len(mac) != 44 || !strings.HasSuffix(mac, "=") {
		t.Fatalf("mac %q: want 44 padded base64 characters", mac)
	}
	if err := VerifyMAC(kf, testFields(), mac); err != nil {
		t.Fatalf("VerifyMAC: %v", err)
	}
}

// Item 2 of the issue: a forged finish/close with the seen references but
// without the key fails, and a genuine MAC moved to another message fails.
func TestMACFailsWhenAnyFieldChanges(t *testing.T) {
	kf := FinalizeKey(testSessionKey())
	f := testFields()
	mac, err := MAC(kf, f)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range macNames {
		changed := f
		ptrs := []*string{&changed.From, &changed.To, &changed.Intent, &changed.YourNonce, &changed.YourRef, &changed.MyRef}
		*ptrs[i] += "1"
		if err := VerifyMAC(kf, changed, mac); !errors.Is(err, ErrBadMAC) {
			t.Errorf("%s changed: err = %v, want ErrBadMAC", name, err)
		}
	}
	other := FinalizeKey(bytes.Repeat([]byte{7}, 32))
	if err := VerifyMAC(other, f, mac); !errors.Is(err, ErrBadMAC) {
		t.Errorf("other key: err = %v, want ErrBadMAC", err)
	}
}

func TestVerifyMACRejectsMalformedInput(t *testing.T) {
	kf := FinalizeKey(testSessionKey())
	f := testFields()
	mac, err := MAC(kf, f)
	if err != nil {
		t.Fatal(err)
	}
	long := f
	long.MyRef = strings.Repeat("1", MaxField+1)
	tests := []struct {
		name string
		kf   []byte
		f    Fields
		mac  string
		want error
	}{
		{"no mac", kf, f, "", ErrNoMAC},
		{"zero mac", kf, f, strings.Repeat("A", 43) + "=", ErrBadMAC},
		{"unpadded", kf, f, strings.TrimRight(mac, "="), ErrBadMAC},
		{"truncated to 16 bytes", kf, f, mac[:22] + "==", ErrBadMAC},
		{"megabyte mac", kf, f, strings.Repeat("A", 1<<20), ErrBadMAC},
		{"nil key (no session key)", nil, f, mac, ErrBadKey},
		{"the session key itself", testSessionKey()[:16], f, mac, ErrBadKey},
		{"over-long field", kf, long, mac, ErrFieldTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyMAC(tc.kf, tc.f, tc.mac); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := MAC(nil, f); !errors.Is(err, ErrBadKey) {
		t.Fatalf("MAC with nil key: %v", err)
	}
}

func TestMACOf(t *testing.T) {
	tests := []struct {
		name    string
		payload map[string]any
		want    string
		err     error
	}{
		{"absent", map[string]any{"intent": "finish"}, "", nil},
		{"string", map[string]any{"mac": "m="}, "m=", nil},
		{"empty", map[string]any{"mac": ""}, "", ErrBadMAC},
		{"null", map[string]any{"mac": nil}, "", ErrBadMAC},
		{"number", map[string]any{"mac": 1.5}, "", ErrBadMAC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MACOf(tc.payload)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("MACOf = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
