package pyjson

import (
	"errors"
	"math"
	"testing"
)

// Expected outputs below were produced by CPython 3 json.dumps(...,
// sort_keys=True, separators=(",", ":"), ensure_ascii=True).
func TestMarshalStringMatchesPythonEnsureASCII(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"printable ASCII is verbatim", "hello", `"hello"`},
		{"quote and backslash are escaped", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"other control characters use lowercase \\u00XX", "\x00\x1f", `"\u0000\u001f"`},
		{"DEL is escaped", "\x7f", `"\u007f"`},
		{"slash and HTML characters are not escaped", "</a>&", `"</a>&"`},
		{"Latin-1", "é", `"\u00e9"`},
		{"BMP", "€中", `"\u20ac\u4e2d"`},
		{"non-BMP runes become surrogate pairs", "😀𝄞", `"\ud83d\ude00\ud834\udd1e"`},
		{"U+FFFF", "\uffff", `"\uffff"`},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", `"a\ufffdb"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMarshalFloatMatchesPythonRepr(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1.0, "1.0"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{1.5e-7, "1.5e-07"},
		{123456789.123, "123456789.123"},
		{1e22, "1e+22"},
		{2.5, "2.5"},
		{0.1, "0.1"},
		{-3.75e100, "-3.75e+100"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{9007199254740993.0, "9007199254740992.0"},
	} {
		got, err := Marshal(tc.in)
		if err != nil {
			t.Fatalf("%v: %v", tc.in, err)
		}
		if string(got) != tc.want {
			t.Errorf("Marshal(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestMarshalSortsKeysByCodePointAndCompacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{
			"nested values of every kind",
			map[string]any{"b": []any{1, 2.0, nil, true, false, "x"}, "a": map[string]any{"é": 1, "z": map[string]any{}}, "A": []any{}},
			`{"A":[],"a":{"z":{},"\u00e9":1},"b":[1,2.0,null,true,false,"x"]}`,
		},
		{
			"code point order, not UTF-16 order",
			map[string]any{"é": 1, "z": 2, "Z": 3, "😀": 4, "\uffff": 5, "_": 6},
			`{"Z":3,"_":6,"z":2,"\u00e9":1,"\uffff":5,"\ud83d\ude00":4}`,
		},
		{"map of strings", map[string]string{"b": "2", "a": "1"}, `{"a":"1","b":"2"}`},
		{"list of strings", []string{"x", "y"}, `["x","y"]`},
		{"integer kinds", []any{int8(-8), uint16(16), int64(math.MinInt64), uint64(math.MaxUint64)}, `[-8,16,-9223372036854775808,18446744073709551615]`},
		{"nil map is an empty object", map[string]any(nil), `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMarshalRejectsValuesWithoutJSONForm(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for name, v := range map[string]any{
		"NaN":          math.NaN(),
		"+Inf":         math.Inf(1),
		"struct":       struct{}{},
		"channel":      make(chan int),
		"nested NaN":   map[string]any{"a": []any{math.Inf(-1)}},
		"cyclic map":   cyclic,
		"map[int]bool": map[int]bool{1: true},
	} {
		if _, err := Marshal(v); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}
