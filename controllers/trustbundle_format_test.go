package controllers

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
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
// panic, and whatever it keeps must re-encode and parse back unchanged.
func FuzzParseTrustBundle(f *testing.F) {
	for _, seed := range []string{"", "{}", `{"a":"` + testKey + `"}`, `{"a":1}`, `[1,2]`, `{"a":`, `"x"`, `{"\u0000":"` + testKey + `"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		b, _, err := parseTrustBundle(data)
		if err != nil {
			return
		}
		for id, key := range b {
			if err := validateBundleEntry(id, key); err != nil {
				t.Fatalf("kept invalid entry: %v", err)
			}
		}
		enc, err := b.encode()
		if err != nil {
			t.Fatal(err)
		}
		back, dropped, err := parseTrustBundle(enc)
		if err != nil || dropped != 0 || len(back) != len(b) {
			t.Fatalf("re-parse of %q: %v dropped=%d err=%v", enc, back, dropped, err)
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
	if err != nil || dropped != 0 || len(b) != 1 {
		t.Fatalf("parse: %v %d %v", b, dropped, err)
	}
	b.set("a-caller-change", "x")
	again, _, _ := m.parse("fleet", "1", "not parsed: same resourceVersion")
	if len(again) != 1 {
		t.Fatalf("memo shared the caller's copy: %v", again)
	}
	if _, _, err := m.parse("fleet", "2", "{not a bundle"); err == nil {
		t.Fatal("a new resourceVersion was not parsed again")
	}
}
