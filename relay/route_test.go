package relay

import (
	"bytes"
	"testing"
)

func TestScanRouteFindsFromAndTo(t *testing.T) {
	tests := []struct {
		name           string
		line           string
		wantFrom, want string // "" means nil
	}{
		{"typed envelope, broadcast",
			`{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9"}, "_type": {"to": "null", "intent": "str", "from": "str"}}`,
			"d8045fd9", ""},
		{"typed envelope, directed, compact",
			`{"_version":"1.3.0","_payload":{"from":"a1","to":"b2","hs":{"sig":"x\"y","n":[1,2,{"k":true}]}},"_type":{"to":"str"}}`,
			"a1", "b2"},
		{"payload wins over top-level fields",
			`{"from": "top", "to": "top", "_payload": {"from": "inner", "to": "peer"}}`, "inner", "peer"},
		{"bare payload", `{"from": "a", "to": "b", "intent": "request"}`, "a", "b"},
		{"escaped id is ignored", `{"_payload": {"from": "a\u0062", "to": "b"}}`, "", "b"},
		{"non-string to", `{"_payload": {"from": "a", "to": 42}}`, "a", ""},
		{"nested to is not the payload's", `{"_payload": {"x": {"to": "deep"}, "from": "a"}}`, "a", ""},
		{"not JSON", `from to intent`, "", ""},
		{"truncated JSON", `{"_payload": {"from": "a", "to": "b"`, "", ""},
		{"array at top", `["from", "to"]`, "", ""},
		{"empty object", `{}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanRoute([]byte(tt.line))
			if string(got.from) != tt.wantFrom || (got.from == nil) != (tt.wantFrom == "") {
				t.Errorf("from = %q, want %q", got.from, tt.wantFrom)
			}
			if string(got.to) != tt.want || (got.to == nil) != (tt.want == "") {
				t.Errorf("to = %q, want %q", got.to, tt.want)
			}
		})
	}
}

func TestScanRouteDoesNotAllocate(t *testing.T) {
	line := []byte(`{"_version": "1.3.0", "_payload": {"to": "b2", "intent": "request", "from": "a1"}, "_type": {"to": "str"}}`)
	if n := testing.AllocsPerRun(100, func() { _ = scanRoute(line) }); n != 0 {
		t.Errorf("scanRoute allocates %.0f times per line", n)
	}
}

func FuzzScanRoute(f *testing.F) {
	f.Add([]byte(`{"_payload": {"from": "a", "to": "b"}}`))
	f.Add([]byte(`{"_payload": {"to": null, "from": "a", "x": [1, {"y": "z"}]}}`))
	f.Add([]byte(`{"from": "a\"b", "to": tru`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got := scanRoute(line)
		for _, field := range [][]byte{got.from, got.to} {
			if field != nil && !bytes.Contains(line, field) {
				t.Fatalf("field %q is not part of the line", field)
			}
		}
	})
}
