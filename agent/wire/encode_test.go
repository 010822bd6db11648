package wire

import (
	"errors"
	"math"
	"testing"
)

func TestEncodeTypesEveryLeaf(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Payload
		want string
	}{
		{"strings and null", Payload{"to": nil, "intent": "register", "from": "id"},
			`{"_version":"1.3.0","_payload":{"from":"id","intent":"register","to":null},"_type":{"from":"str","intent":"str","to":"null"}}`},
		{"digit-only string stays typed str", Payload{"your_ref": "3965119886"},
			`{"_version":"1.3.0","_payload":{"your_ref":"3965119886"},"_type":{"your_ref":"str"}}`},
		{"bool is bool, not int", Payload{"b": true, "i": 3, "j": int64(-4), "f": 0.5},
			`{"_version":"1.3.0","_payload":{"b":true,"f":0.5,"i":3,"j":-4},"_type":{"b":"bool","f":"float","i":"int","j":"int"}}`},
		{"nested objects and lists are mirrored", Payload{"hs": map[string]any{"a": "x", "l": []any{"y", nil, 1.0, []any{false}}}},
			`{"_version":"1.3.0","_payload":{"hs":{"a":"x","l":["y",null,1.0,[false]]}},"_type":{"hs":{"a":"str","l":["str","null","float",["bool"]]}}}`},
		{"string maps and lists", Payload{"m": map[string]string{"k": "v"}, "l": []string{"a", "b"}},
			`{"_version":"1.3.0","_payload":{"l":["a","b"],"m":{"k":"v"}},"_type":{"l":["str","str"],"m":{"k":"str"}}}`},
		{"non-ASCII is escaped", Payload{"message": "héllo 😀"},
			`{"_version":"1.3.0","_payload":{"message":"h\u00e9llo \ud83d\ude00"},"_type":{"message":"str"}}`},
		{"empty and nil payloads", nil, `{"_version":"1.3.0","_payload":{},"_type":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEncodeRejectsValuesWithoutWireType(t *testing.T) {
	deep := Payload{}
	cur := deep
	for range 100 {
		next := map[string]any{}
		cur["x"] = next
		cur = next
	}
	for name, p := range map[string]Payload{
		"struct":          {"x": struct{}{}},
		"NaN":             {"x": math.NaN()},
		"nested infinity": {"x": []any{math.Inf(1)}},
		"byte slice":      {"x": []byte("raw")},
		"too deep":        deep,
	} {
		if line, err := Encode(p); !errors.Is(err, ErrUnencodable) {
			t.Errorf("%s: got %q, %v; want ErrUnencodable", name, line, err)
		}
	}
}

// Whatever Encode writes, Decode reads back once the relay has wrapped it.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := Payload{"to": nil, "intent": "request", "n": int64(7), "f": 2.5, "ok": false,
		"hs": map[string]any{"sig": "x/y+z=="}, "l": []any{"a", int64(1)}, "u": "\u2028\x00"}
	line, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(relayWrap("10.0.0.1:1", line), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !equalPayload(out.Payload, in) {
		t.Errorf("round trip: got %#v, want %#v", out.Payload, in)
	}
}
