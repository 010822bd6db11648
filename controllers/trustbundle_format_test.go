package controllers

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/trust"
)

var testKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

func TestParseTrustBundle(t *testing.T) {
	otherKey := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name        string
		data        string
		want        trustBundle
		wantDropped int
		wantErr     bool
	}{
		{name: "empty data is an empty bundle", data: "", want: trustBundle{}},
		{name: "empty object is an empty bundle", data: "{}", want: trustBundle{}},
		{name: "valid entries are kept", data: `{"a-1":"` + testKey + `","b-2":"` + otherKey + `"}`,
			want: trustBundle{"a-1": testKey, "b-2": otherKey}},
		{name: "non-string value is dropped", data: `{"a-1":"` + testKey + `","b":7}`,
			want: trustBundle{"a-1": testKey}, wantDropped: 1},
		{name: "short key is dropped", data: `{"a":"AAAA"}`, want: trustBundle{}, wantDropped: 1},
		{name: "bad agent ID is dropped", data: `{"../x":"` + testKey + `"}`, want: trustBundle{}, wantDropped: 1},
		{name: "array is rejected", data: `[]`, wantErr: true},
		{name: "truncated JSON is rejected", data: `{"a":`, wantErr: true},
		{name: "oversized bundle is rejected", data: `{"a":"` + strings.Repeat("A", maxTrustBundleSize) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped, err := parseTrustBundle(tt.data)
			if tt.wantErr {
				if !errors.Is(err, errTrustBundleFormat) {
					t.Fatalf("err = %v, want errTrustBundleFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if dropped != tt.wantDropped {
				t.Errorf("dropped = %d, want %d", dropped, tt.wantDropped)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("entry %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestTrustBundleSetRemoveReportChanges(t *testing.T) {
	b := trustBundle{}
	if !b.set("a", testKey) {
		t.Error("first set must report a change")
	}
	if b.set("a", testKey) {
		t.Error("setting the same key again must not report a change")
	}
	if !b.remove("a") || b.remove("a") {
		t.Error("remove must report a change exactly once")
	}
}

func TestTrustBundleEncodingIsSortedAndRoundTrips(t *testing.T) {
	b := trustBundle{"b": testKey, "a": testKey}
	got, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"` + testKey + `","b":"` + testKey + `"}`
	if got != want {
		t.Fatalf("encode = %s, want %s", got, want)
	}
	back, dropped, err := parseTrustBundle(got)
	if err != nil || dropped != 0 || len(back) != 2 {
		t.Fatalf("round trip: %v %d %v", back, dropped, err)
	}
}

// FuzzParseTrustBundle: the ConfigMap is user-writable; parsing must never
// panic, and whatever it keeps must re-encode and parse back unchanged, and
// agents must read it.
func FuzzParseTrustBundle(f *testing.F) {
	other := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	for _, seed := range []string{"", "{}", `{"a":"` + testKey + `"}`, `{"a":1}`, `[1,2]`, `{"a":`, `"x"`, `{"\u0000":"` + testKey + `"}`,
		`{"a":{"key":"` + testKey + `","keys":["` + other + `","` + testKey + `"]}}`, `{"a":{"key":"` + testKey + `","keys":null}}`,
		`{"a":{"key":"` + testKey + `","keys":[1]}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		d, _, err := parseTrustBundleDoc(data)
		if err != nil {
			return
		}
		for id, key := range d.keys {
			if err := validateBundleEntry(id, key); err != nil {
				t.Fatalf("kept invalid entry: %v", err)
			}
		}
		for id, others := range d.overlap {
			if _, ok := d.keys[id]; !ok || len(others) == 0 || len(others) > trust.MaxExtraKeys {
				t.Fatalf("overlap %v of %q without a key or out of bounds", others, id)
			}
			for _, k := range others {
				if validateBundleEntry(id, k) != nil || k == d.keys[id] {
					t.Fatalf("kept invalid or primary overlap key of %q", id)
				}
			}
		}
		enc, err := d.encode()
		if err != nil {
			t.Fatal(err)
		}
		back, dropped, err := parseTrustBundleDoc(enc)
		if err != nil || dropped != 0 || len(back.keys) != len(d.keys) || len(back.overlap) != len(d.overlap) {
			t.Fatalf("re-parse of %q: %v dropped=%d err=%v", enc, back, dropped, err)
		}
		if len(d.keys) > 0 {
			if b, _, extra, err := trust.ParseBundleKeys([]byte(enc)); err != nil || len(b) != len(d.keys) || len(extra) != len(d.overlap) {
				t.Fatalf("agents cannot read the operator's encoding %q: %v", enc, err)
			}
		}
	})
}

// The memo returns the parsed bundle for an unchanged resourceVersion as a
// copy the caller may change, and parses again when it moves.
func TestBundleMemoReparsesOnlyOnANewResourceVersion(t *testing.T) {
	var m bundleMemo
	one := trustBundle{}
	one.set("a-1", testKey)
	data, err := one.encode()
	if err != nil {
		t.Fatal(err)
	}
	b, dropped, err := m.parse("fleet", "1", data)
	if err != nil || dropped != 0 || len(b.keys) != 1 {
		t.Fatalf("parse: %v %d %v", b, dropped, err)
	}
	b.keys.set("a-caller-change", "x")
	b.setEntry("a-1", testKey, []string{"y"})
	again, _, _ := m.parse("fleet", "1", "not parsed: same resourceVersion")
	if len(again.keys) != 1 || len(again.overlap) != 0 {
		t.Fatalf("memo shared the caller's copy: %v", again)
	}
	if _, _, err := m.parse("fleet", "2", "{not a bundle"); err == nil {
		t.Fatal("a new resourceVersion was not parsed again")
	}
}

func TestBundleDocReadsAndWritesTheRotationOverlap(t *testing.T) {
	old := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("o", 32)))
	next := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("n", 32)))
	in := `{"rot-1":{"key":"` + old + `","keys":["` + next + `","` + old + `"],"caps":["bind1"]},"plain-1":"` + testKey + `",` +
		`"bad-overlap":{"key":"` + old + `","keys":["short"]},"no-key":{"keys":["` + next + `"]}}`
	d, dropped, err := parseTrustBundleDoc(in)
	if err != nil {
		t.Fatal(err)
	}
	if dropped != 2 {
		t.Errorf("dropped = %d, want 2 (a bad key in keys, an object without key)", dropped)
	}
	if d.keys["rot-1"] != old || d.keys["plain-1"] != testKey || len(d.keys) != 2 {
		t.Fatalf("keys = %v", d.keys)
	}
	if got := d.overlap["rot-1"]; len(got) != 1 || got[0] != next {
		t.Fatalf("overlap of rot-1 = %v, want [next]", got)
	}
	enc, err := d.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"plain-1":"` + testKey + `","rot-1":{"key":"` + old + `","keys":["` + next + `"]}}`
	if enc != want {
		t.Fatalf("encode = %s\nwant %s (object form only for the rotating entry)", enc, want)
	}
	// Agents read what the operator writes.
	b, _, extra, err := trust.ParseBundleKeys([]byte(enc))
	if err != nil || len(b) != 2 || len(extra["rot-1"]) != 1 {
		t.Fatalf("agent parse of the operator's bundle: %v (%d keys, extra %v)", err, len(b), extra)
	}
}

func TestBundleDocSetEntryAndPrune(t *testing.T) {
	a := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", 32)))
	b := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", 32)))
	d := newBundleDoc()
	if !d.setEntry("x", a, []string{b, a, b}) {
		t.Fatal("new entry reported no change")
	}
	if d.setEntry("x", a, []string{b}) {
		t.Fatal("same entry reported a change")
	}
	if got := d.others("x"); len(got) != 1 || got[0] != b {
		t.Fatalf("others = %v", got)
	}
	// The swap: the new key becomes primary, the old one stays.
	if !d.setEntry("x", b, []string{a}) || d.keys["x"] != b || d.others("x")[0] != a {
		t.Fatalf("swap: %v", d)
	}
	// A primary-only write (reconcileTrustBundle's set) keeps the overlap.
	if d.keys.set("x", b) || len(d.others("x")) != 1 {
		t.Fatal("set of the same primary touched the overlap")
	}
	if !d.setEntry("x", b, nil) || len(d.overlap) != 0 {
		t.Fatalf("retire left overlap %v", d.overlap)
	}
	d.setEntry("y", a, []string{b})
	d.keys.remove("y")
	if !d.pruneOverlap() || len(d.overlap) != 0 {
		t.Fatal("overlap of a removed agent kept")
	}
}
