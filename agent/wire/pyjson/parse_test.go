package pyjson

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseBuildsGenericValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want any
	}{
		{"object with every scalar", `{"s":"x","i":-12,"f":1.5,"e":1e3,"t":true,"n":null,"F":false}`,
			map[string]any{"s": "x", "i": int64(-12), "f": 1.5, "e": 1000.0, "t": true, "n": nil, "F": false}},
		{"nested arrays and objects", ` [ {"a" : [ ] } , [ {} ] ] `, []any{map[string]any{"a": []any{}}, []any{map[string]any{}}}},
		{"last duplicate key wins", `{"a":1,"a":2}`, map[string]any{"a": int64(2)}},
		{"escapes", `"\"\\\/\b\f\n\r\t\u00e9"`, "\"\\/\b\f\n\r\té"},
		{"surrogate pair joins", `"\ud83d\ude00"`, "😀"},
		{"lone high surrogate becomes U+FFFD", `"\ud83dx"`, "\ufffdx"},
		{"lone low surrogate becomes U+FFFD", `"\ude00"`, "\ufffd"},
		{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, "\ufffdA"},
		{"integer overflow falls back to float", `92233720368547758070`, 9.223372036854776e19},
		{"max int64 stays an integer", `9223372036854775807`, int64(math.MaxInt64)},
		{"raw UTF-8 passes through", `"中😀"`, "中😀"},
		{"negative zero integer", `-0`, int64(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestParseRejectsInvalidJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", ``, ErrSyntax},
		{"trailing data", `{} {}`, ErrSyntax},
		{"trailing comma in object", `{"a":1,}`, ErrSyntax},
		{"trailing comma in array", `[1,]`, ErrSyntax},
		{"single quotes", `{'a':1}`, ErrSyntax},
		{"unquoted key", `{a:1}`, ErrSyntax},
		{"unterminated string", `"abc`, ErrSyntax},
		{"raw control character in string", "\"a\nb\"", ErrSyntax},
		{"bad escape", `"\x41"`, ErrSyntax},
		{"short unicode escape", `"\u12"`, ErrSyntax},
		{"leading zero", `01`, ErrSyntax},
		{"bare minus", `-`, ErrSyntax},
		{"missing fraction digits", `1.`, ErrSyntax},
		{"missing exponent digits", `1e+`, ErrSyntax},
		{"NaN is not JSON", `NaN`, ErrSyntax},
		{"Infinity is not JSON", `Infinity`, ErrSyntax},
		{"number beyond float64", `1e400`, ErrSyntax},
		{"truncated literal", `tru`, ErrSyntax},
		{"invalid UTF-8", "\"\xff\"", ErrSyntax},
		{"too deep", strings.Repeat("[", 33) + strings.Repeat("]", 33), ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := Parse(tc.in, 32); !errors.Is(err, tc.want) {
				t.Errorf("Parse(%q) = %#v, %v; want %v", tc.in, v, err, tc.want)
			}
		})
	}
}

func TestParseDepthLimitIsInclusive(t *testing.T) {
	ok := strings.Repeat(`{"a":`, 5) + "1" + strings.Repeat("}", 5)
	if _, err := Parse(ok, 5); err != nil {
		t.Errorf("5 levels with limit 5: %v", err)
	}
	if _, err := Parse(ok, 4); !errors.Is(err, ErrTooDeep) {
		t.Errorf("5 levels with limit 4: err = %v, want ErrTooDeep", err)
	}
}

func TestParseObjectSkipsTopLevelKeysButValidatesThem(t *testing.T) {
	m, err := ParseObject(`{"_type":{"a":["str",{"b":"int"}]},"a":1}`, 0, "_type")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m["_type"]; !ok || v != nil {
		t.Errorf("_type = %#v, %v; want present and nil", v, ok)
	}
	if m["a"] != int64(1) {
		t.Errorf("a = %#v", m["a"])
	}
	for _, bad := range []string{
		`{"_type":{"a":}}`,
		`{"_type":["x",]}`,
		`{"_type":"\q"}`,
		`{"_type":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	} {
		if _, err := ParseObject(bad, 32, "_type"); err == nil {
			t.Errorf("ParseObject(%q) accepted invalid skipped value", bad)
		}
	}
	if _, err := ParseObject(`[1]`, 0); !errors.Is(err, ErrSyntax) {
		t.Errorf("array accepted as object: %v", err)
	}
}

// FuzzParse checks the parser against encoding/json: same verdict on valid
// UTF-8 input within the depth bound, same value, and Marshal output that
// parses back to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"remote_addr":"127.0.0.1:1","content":"{\"_payload\":{}}"}`,
		`[1,-2.5e-3,true,false,null,"\ud83d\ude00"]`,
		`{"a":{"b":{"c":[{}]}}}`,
		`"\u0000\ud800"`, `1e400`, `-0`, `{"a":1,"a":2}`, `[`, `"\`, `{"":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data, 64)
		if !utf8.Valid(data) {
			if err == nil {
				t.Fatal("accepted invalid UTF-8")
			}
			return
		}
		var want any
		stdErr := json.Unmarshal(data, &want)
		if errors.Is(err, ErrTooDeep) {
			return
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("verdict differs: ours %v, encoding/json %v", err, stdErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(toStdNumbers(got), want) {
			t.Fatalf("value differs:\nours %#v\nstd  %#v", got, want)
		}
		enc, err := Marshal(got)
		if err != nil {
			t.Fatalf("Marshal of parsed value: %v", err)
		}
		back, err := Parse(enc, 64)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(toStdNumbers(back), want) {
			t.Fatalf("round trip differs: %s", enc)
		}
	})
}

// toStdNumbers maps int64 to float64 the way encoding/json decodes numbers.
func toStdNumbers(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toStdNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toStdNumbers(e)
		}
		return out
	}
	return v
}
