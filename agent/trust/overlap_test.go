package trust

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
)

func b64(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

func TestParseBundleKeysReadsTheRotationOverlap(t *testing.T) {
	cur, next, other := newKey(t), newKey(t), newKey(t)
	in := `{"rot":{"key":"` + b64(cur) + `","keys":["` + b64(next) + `","` + b64(cur) + `","` + b64(next) + `"],"caps":["bind1"]},` +
		`"plain":"` + b64(other) + `","null-keys":{"key":"` + b64(other) + `","keys":null}}`
	b, caps, extra, err := ParseBundleKeys([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !b["rot"].Equal(cur) || len(b) != 3 {
		t.Fatalf("primary keys = %v", b)
	}
	if len(extra) != 1 || len(extra["rot"]) != 1 || !extra["rot"][0].Equal(next) {
		t.Fatalf("extra = %v, want only rot → [next] (primary and duplicates collapse)", extra)
	}
	if !caps.Has("rot", CapBind1) {
		t.Fatal("caps of a rotating entry lost")
	}
	// The older entry points read the same bundle and give the primary key.
	plain, err := ParseBundle([]byte(in))
	if err != nil || !plain["rot"].Equal(cur) {
		t.Fatalf("ParseBundle of a rotating bundle: %v", err)
	}
}

func TestParseBundleKeysRejectsBadRotationKeys(t *testing.T) {
	k := b64(newKey(t))
	tests := map[string]string{
		"keys not a list":     `{"a":{"key":"` + k + `","keys":"` + k + `"}}`,
		"key in keys short":   `{"a":{"key":"` + k + `","keys":["AAAA"]}}`,
		"key in keys not b64": `{"a":{"key":"` + k + `","keys":["!!"]}}`,
		"key in keys number":  `{"a":{"key":"` + k + `","keys":[1]}}`,
		"too many keys":       `{"a":{"key":"` + k + `","keys":[` + strings.Repeat(`"`+k+`",`, MaxExtraKeys) + `"` + k + `"]}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, _, err := ParseBundleKeys([]byte(in)); !errors.Is(err, ErrBadBundle) {
				t.Fatalf("err = %v, want ErrBadBundle", err)
			}
		})
	}
}

func TestFleetCheckAcceptsEveryKeyOfARotatingAgent(t *testing.T) {
	old, next, stranger := newKey(t), newKey(t), newKey(t)
	p := NewPolicy(Fleet, nil)
	p.SetBundleKeys(Bundle{"a": old, "b": stranger}, nil, ExtraKeys{"a": {next}})
	for _, k := range []ed25519.PublicKey{old, next} {
		if err := p.Check("a", k, nil); err != nil {
			t.Fatalf("key of a rotating agent refused: %v", err)
		}
	}
	if err := p.Check("a", stranger, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("a third key: err = %v, want ErrKeyMismatch", err)
	}
	if err := p.Check("b", next, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("another agent's rotation key accepted for b: %v", err)
	}
	if keys := p.Keys("a"); len(keys) != 2 || !keys[0].Equal(old) || !keys[1].Equal(next) {
		t.Fatalf("Keys = %v, want primary then next", keys)
	}
	if keys := p.Keys("b"); len(keys) != 1 || !keys[0].Equal(stranger) {
		t.Fatalf("Keys of a plain entry = %v", keys)
	}
	if p.Keys("nobody") != nil || p.Accepts("nobody", old) {
		t.Fatal("an agent outside the bundle has keys")
	}
	if p.Rotating() != 1 {
		t.Fatalf("Rotating = %d, want 1", p.Rotating())
	}
	// The overlap ends: the old key is refused again.
	p.SetBundle(Bundle{"a": next})
	if err := p.Check("a", old, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("retired key: err = %v, want ErrKeyMismatch", err)
	}
}

func TestTOFUIgnoresTheBundleOverlap(t *testing.T) {
	old, next := newKey(t), newKey(t)
	p := NewPolicy(TOFU, nil)
	p.SetBundleKeys(Bundle{"a": old}, nil, ExtraKeys{"a": {next}})
	if err := p.CheckSignPub("a", old, nil); err != nil {
		t.Fatal(err)
	}
	// A pinned peer's new key is refused even while a bundle lists it:
	// TOFU trusts its pin, not the bundle (docs/rotation.md).
	if err := p.Check("a", next, old); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("err = %v, want ErrKeyChanged", err)
	}
}

func TestMarshalKeysWritesObjectFormOnlyForRotatingEntries(t *testing.T) {
	cur, next, other := newKey(t), newKey(t), newKey(t)
	b := Bundle{"rot": cur, "plain": other}
	data, err := b.MarshalKeys(nil, ExtraKeys{"rot": {cur, next}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"plain":"` + b64(other) + `","rot":{"key":"` + b64(cur) + `","keys":["` + b64(next) + `"]}}`
	if string(data) != want {
		t.Fatalf("MarshalKeys = %s\nwant %s", data, want)
	}
	if plain, _ := b.Marshal(); strings.Contains(string(plain), "{\"key\"") {
		t.Fatalf("Marshal wrote the object form: %s", plain)
	}
}

func TestWatchFileSwapsTheOverlapIn(t *testing.T) {
	path := t.TempDir() + "/bundle.json"
	old, next := newKey(t), newKey(t)
	writeBundle(t, path, Bundle{"a": old}, nil)
	p := NewPolicy(Fleet, nil)
	if err := p.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if p.Accepts("a", next) {
		t.Fatal("next key accepted before it was published")
	}
	data, err := Bundle{"a": old}.MarshalKeys(nil, ExtraKeys{"a": {next}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if !p.Accepts("a", next) || !p.Accepts("a", old) {
		t.Fatal("LoadFile lost the overlap")
	}
}

func FuzzParseBundleKeys(f *testing.F) {
	k0 := b64(make([]byte, 32))
	k1 := b64(append(make([]byte, 31), 1))
	f.Add([]byte(`{"a":{"key":"` + k0 + `","keys":["` + k1 + `"]},"b":"` + k1 + `"}`))
	f.Add([]byte(`{"a":{"key":"` + k0 + `","keys":["` + k0 + `","` + k1 + `","` + k1 + `"],"caps":["bind1"]}}`))
	f.Add([]byte(`{"a":{"key":"` + k0 + `","keys":null}}`))
	f.Add([]byte(`{"a":{"key":"` + k0 + `","keys":[""]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, caps, extra, err := ParseBundleKeys(data)
		if err != nil {
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for id, ks := range extra {
			primary, ok := b[id]
			if !ok || len(ks) == 0 || len(ks) > MaxExtraKeys {
				t.Fatalf("extra keys %d for %q without a key or out of bounds", len(ks), id)
			}
			for i, k := range ks {
				if len(k) != ed25519.PublicKeySize || k.Equal(primary) || containsKey(ks[:i], k) {
					t.Fatalf("extra key %d of %q is bad, the primary or a duplicate", i, id)
				}
			}
		}
		again, err := b.MarshalKeys(caps, extra)
		if err != nil {
			t.Fatal(err)
		}
		b2, _, extra2, err := ParseBundleKeys(again)
		if err != nil {
			t.Fatalf("re-parse of MarshalKeys output: %v", err)
		}
		if len(b2) != len(b) || len(extra2) != len(extra) {
			t.Fatalf("round trip changed the bundle size")
		}
		p := NewPolicy(Fleet, nil)
		p.SetBundleKeys(b2, nil, extra2)
		for id, k := range b {
			if !b2[id].Equal(k) || p.Check(id, k, nil) != nil {
				t.Fatalf("key of %q changed or refused", id)
			}
			for _, x := range extra[id] {
				if p.Check(id, x, nil) != nil {
					t.Fatalf("extra key of %q refused after the round trip", id)
				}
			}
		}
	})
}

// BenchmarkFleetCheck: the per-hs bundle check, outside and inside a
// rotation overlap (the new key is the second one tried).
func BenchmarkFleetCheck(b *testing.B) {
	old, next := newKey(b), newKey(b)
	bundle := Bundle{}
	for i := range 1000 {
		bundle[string(rune('a'+i%26))+string(rune(i))] = newKey(b)
	}
	bundle["a"] = old
	for _, tc := range []struct {
		name  string
		extra ExtraKeys
		pub   ed25519.PublicKey
	}{{"plain", nil, old}, {"overlap-new-key", ExtraKeys{"a": {next}}, next}} {
		p := NewPolicy(Fleet, nil)
		p.SetBundleKeys(bundle, nil, tc.extra)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := p.Check("a", tc.pub, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
