package trust

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseBundleCapsAcceptsBothEntryForms(t *testing.T) {
	ka, kb := newKey(t), newKey(t)
	a64, b64 := base64.StdEncoding.EncodeToString(ka), base64.StdEncoding.EncodeToString(kb)
	in := `{"op-agent":{"key":"` + a64 + `","caps":["bind1","bind1","future-x"],"note":"ignored"},` +
		` "python-agent":"` + b64 + `", "no-caps":{"key":"` + b64 + `"}, "null-caps":{"key":"` + b64 + `","caps":null}}`
	b, caps, err := ParseBundleCaps([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4 || !b["op-agent"].Equal(ka) || !b["python-agent"].Equal(kb) {
		t.Fatalf("keys = %v", b)
	}
	if want := (Caps{"op-agent": {"bind1", "future-x"}}); !reflect.DeepEqual(caps, want) {
		t.Fatalf("caps = %v, want %v (sorted, deduplicated, only agents with caps)", caps, want)
	}
	if !caps.Has("op-agent", CapBind1) || caps.Has("python-agent", CapBind1) || caps.Has("stranger", CapBind1) {
		t.Fatal("Has answers wrongly")
	}
	plain, err := ParseBundle([]byte(in))
	if err != nil || len(plain) != 4 {
		t.Fatalf("ParseBundle of the object form: %v, %d keys", err, len(plain))
	}
}

func TestParseBundleCapsRejectsBadObjectEntries(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(newKey(t))
	tests := map[string]string{
		"object without key":         `{"a":{"caps":["bind1"]}}`,
		"key spelled Key":            `{"a":{"Key":"` + k + `"}}`,
		"key not a string":           `{"a":{"key":5}}`,
		"key not 32 bytes":           `{"a":{"key":"AAAA"}}`,
		"caps not a list":            `{"a":{"key":"` + k + `","caps":"bind1"}}`,
		"cap not a string":           `{"a":{"key":"` + k + `","caps":[1]}}`,
		"empty cap":                  `{"a":{"key":"` + k + `","caps":[""]}}`,
		"cap with upper case":        `{"a":{"key":"` + k + `","caps":["Bind1"]}}`,
		"cap too long":               `{"a":{"key":"` + k + `","caps":["` + strings.Repeat("b", 33) + `"]}}`,
		"too many caps":              `{"a":{"key":"` + k + `","caps":[` + strings.Repeat(`"c",`, 16) + `"c"]}}`,
		"entry is null":              `{"a":null}`,
		"entry is a list":            `{"a":["` + k + `"]}`,
		"one bad entry fails it all": `{"good":"` + k + `","bad":{"key":"x"}}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ParseBundleCaps([]byte(in)); !errors.Is(err, ErrBadBundle) {
				t.Fatalf("err = %v, want ErrBadBundle", err)
			}
		})
	}
}

func TestMarshalCapsRoundTripsAndKeepsStringFormWithoutCaps(t *testing.T) {
	b := Bundle{"op": newKey(t), "py": newKey(t)}
	caps := Caps{"op": {CapBind1}}
	data, err := b.MarshalCaps(caps)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":{"key":"` + base64.StdEncoding.EncodeToString(b["op"]) + `","caps":["bind1"]},"py":"` +
		base64.StdEncoding.EncodeToString(b["py"]) + `"}`
	if string(data) != want {
		t.Fatalf("MarshalCaps\n got %s\nwant %s", data, want)
	}
	gotB, gotCaps, err := ParseBundleCaps(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotCaps, caps) || len(gotB) != 2 || !gotB["py"].Equal(b["py"]) {
		t.Fatalf("round trip: %v %v", gotB, gotCaps)
	}
}

func TestPolicyRequiresBind(t *testing.T) {
	op, py := newKey(t), newKey(t)
	b, caps := Bundle{"op": op, "py": py}, Caps{"op": {CapBind1}}

	fleet := NewPolicy(Fleet, nil)
	fleet.SetBundleCaps(b, caps)
	if !fleet.RequiresBind("op") || fleet.RequiresBind("py") || fleet.RequiresBind("stranger") {
		t.Fatal("fleet: bind1 agents must bind, string-form and unknown agents need not")
	}
	if got := fleet.Caps("op"); !reflect.DeepEqual(got, []Cap{CapBind1}) {
		t.Fatalf("Caps(op) = %v", got)
	}
	fleet.SetBundle(b) // a bundle swapped without caps drops them
	if fleet.RequiresBind("op") {
		t.Fatal("caps survived SetBundle")
	}

	tofu := NewPolicy(TOFU, nil)
	if tofu.MarkBinds("op") || tofu.RequiresBind("op") {
		t.Fatal("tofu: MarkBinds without a pin took effect")
	}
	if err := tofu.Pin("op", op); err != nil {
		t.Fatal(err)
	}
	if tofu.RequiresBind("op") {
		t.Fatal("tofu: a pin without a verified bind requires bind")
	}
	if !tofu.MarkBinds("op") || !tofu.RequiresBind("op") {
		t.Fatal("tofu: sticky bind pin not honoured")
	}

	open := NewPolicy(Open, nil)
	open.SetBundleCaps(b, caps)
	if open.MarkBinds("op") || open.RequiresBind("op") {
		t.Fatal("open mode never requires bind")
	}
}

func TestLoadFileReadsCaps(t *testing.T) {
	path := t.TempDir() + "/bundle.json"
	b := Bundle{"op": newKey(t)}
	writeBundle(t, path, b, Caps{"op": {CapBind1}})
	p := NewPolicy(Fleet, nil)
	if err := p.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if !p.Admit("op") || !p.RequiresBind("op") {
		t.Fatal("LoadFile lost the object-form entry or its caps")
	}
}

func FuzzParseBundleCaps(f *testing.F) {
	k := base64.StdEncoding.EncodeToString(make([]byte, 32))
	f.Add([]byte(`{"a":{"key":"` + k + `","caps":["bind1"]},"b":"` + k + `"}`))
	f.Add([]byte(`{"a":{"key":"` + k + `","caps":null,"x":{}}}`))
	f.Add([]byte(`{"a":{"key":"` + k + `","caps":["` + strings.Repeat("z", 40) + `"]}}`))
	f.Add([]byte(`{"a":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, caps, err := ParseBundleCaps(data)
		if err != nil {
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for id, cs := range caps {
			if _, ok := b[id]; !ok || len(cs) == 0 || len(cs) > MaxCapsPerAgent {
				t.Fatalf("caps %v for %q without a key or out of bounds", cs, id)
			}
			for _, c := range cs {
				if !validCap(string(c)) {
					t.Fatalf("accepted cap %q", c)
				}
			}
		}
		again, err := b.MarshalCaps(caps)
		if err != nil {
			t.Fatal(err)
		}
		b2, caps2, err := ParseBundleCaps(again)
		if err != nil {
			t.Fatalf("re-parse of MarshalCaps output: %v", err)
		}
		if !reflect.DeepEqual(caps, caps2) || len(b) != len(b2) {
			t.Fatalf("round trip changed the bundle: %v/%v → %v/%v", b, caps, b2, caps2)
		}
		for id, k := range b {
			if !b2[id].Equal(k) {
				t.Fatalf("key of %q changed", id)
			}
		}
	})
}
