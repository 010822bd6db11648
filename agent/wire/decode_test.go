package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeAcceptsEveryRelayShape(t *testing.T) {
	reg := Payload{"to": nil, "intent": "register", "from": "a"}
	for _, tc := range []struct {
		name string
		line string
		want Inbound
	}{
		{"python server, typed envelope in a string",
			`{"remote_addr": "127.0.0.1:39602", "content": "{\"_version\": \"1.3.0\", \"_payload\": {\"to\": null, \"intent\": \"register\", \"from\": \"a\"}, \"_type\": {\"to\": \"null\", \"intent\": \"str\", \"from\": \"str\"}}"}` + "\n",
			Inbound{Kind: KindMessage, RemoteAddr: "127.0.0.1:39602", Payload: reg}},
		{"rust server, sorted compact keys, CRLF",
			`{"content":"{\"_payload\":{\"to\":null,\"intent\":\"register\",\"from\":\"a\"},\"_type\":{},\"_version\":\"1.3.0\"}","remote_addr":"[::1]:5555"}` + "\r\n",
			Inbound{Kind: KindMessage, RemoteAddr: "[::1]:5555", Payload: reg}},
		{"content already an object",
			`{"remote_addr":"h:1","content":{"_version":"1.3.0","_payload":{"to":null,"intent":"register","from":"a"},"_type":{}}}`,
			Inbound{Kind: KindMessage, RemoteAddr: "h:1", Payload: reg}},
		{"bare payload without envelope",
			`{"remote_addr":"h:1","content":"{\"to\":null,\"intent\":\"register\",\"from\":\"a\"}"}`,
			Inbound{Kind: KindMessage, RemoteAddr: "h:1", Payload: reg}},
		{"bare payload that has its own _type key keeps it",
			`{"remote_addr":"h:1","content":"{\"_type\":\"x\",\"_payload\":{}}"}`,
			Inbound{Kind: KindMessage, RemoteAddr: "h:1", Payload: Payload{"_type": "x", "_payload": map[string]any{}}}},
		{"numbers decode as int64 and float64",
			`{"remote_addr":"h:1","content":"{\"n\":42,\"f\":1.5}"}`,
			Inbound{Kind: KindMessage, RemoteAddr: "h:1", Payload: Payload{"n": int64(42), "f": 1.5}}},
		{"python server warning without newline",
			`Warning: Server disconnected.`,
			Inbound{Kind: KindText, Text: "Warning: Server disconnected."}},
		{"rust server warning",
			"Warning: You are sending messages too quickly. Please slow down.\n",
			Inbound{Kind: KindText, Text: "Warning: You are sending messages too quickly. Please slow down."}},
		{"empty line is text", "\n", Inbound{Kind: KindText}},
		{"relayed plain text from a peer",
			`{"remote_addr":"h:1","content":"from to intent"}`,
			Inbound{Kind: KindText, RemoteAddr: "h:1", Text: "from to intent"}},
		{"typed envelope carrying a plain string is text",
			`{"remote_addr":"h:1","content":"{\"_version\":\"1.3.0\",\"_payload\":\"hello all\",\"_type\":\"str\"}"}`,
			Inbound{Kind: KindText, RemoteAddr: "h:1", Text: "hello all"}},
		{"relayed JSON that is not an object is text",
			`{"remote_addr":"h:1","content":"[1,2]"}`,
			Inbound{Kind: KindText, RemoteAddr: "h:1", Text: "[1,2]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.line), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeRejectsBadLinesWithTypedErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	for _, tc := range []struct {
		name string
		line string
		lim  Limits
		want error
	}{
		{"longer than the limit", `{"remote_addr":"h:1","content":"` + strings.Repeat("x", 100) + `"}`, Limits{MaxLine: 64}, ErrTooLong},
		{"longer than the default 64 KiB", `{"content":"` + strings.Repeat("x", DefaultMaxLine) + `"}`, Limits{}, ErrTooLong},
		{"outer JSON broken", `{"remote_addr":"h:1",`, Limits{}, ErrMalformed},
		{"invalid UTF-8", "{\"remote_addr\":\"h\xff\",\"content\":\"{}\"}", Limits{}, ErrMalformed},
		{"content JSON broken", `{"remote_addr":"h:1","content":"{\"to\":"}`, Limits{}, ErrMalformed},
		{"skipped _type broken", `{"remote_addr":"h:1","content":"{\"_type\":{,},\"_payload\":{},\"_version\":\"1\"}"}`, Limits{}, ErrMalformed},
		{"no remote_addr", `{"content":"{}"}`, Limits{}, ErrNotRelayed},
		{"remote_addr not a string", `{"remote_addr":5,"content":"{}"}`, Limits{}, ErrNotRelayed},
		{"no content", `{"remote_addr":"h:1"}`, Limits{}, ErrNotRelayed},
		{"content is a number", `{"remote_addr":"h:1","content":5}`, Limits{}, ErrBadContent},
		{"content is null", `{"remote_addr":"h:1","content":null}`, Limits{}, ErrBadContent},
		{"envelope payload is a list", `{"remote_addr":"h:1","content":{"_version":"1","_payload":["x"],"_type":["str"]}}`, Limits{}, ErrBadContent},
		{"envelope payload is null", `{"remote_addr":"h:1","content":"{\"_version\":\"1\",\"_payload\":null,\"_type\":\"null\"}"}`, Limits{}, ErrBadContent},
		{"content nested too deep", `{"remote_addr":"h:1","content":` + quote(deep) + `}`, Limits{}, ErrTooDeep},
		{"wrapper nested too deep", `{"remote_addr":"h:1","content":` + deep + `}`, Limits{}, ErrTooDeep},
		{"custom depth limit", `{"remote_addr":"h:1","content":"{\"a\":{\"b\":{}}}"}`, Limits{MaxDepth: 2}, ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.line), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Errorf("Decode = %#v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeLimitCountsLineWithoutNewline(t *testing.T) {
	line := []byte(`{"remote_addr":"h:1","content":"{}"}`)
	lim := Limits{MaxLine: len(line)}
	if _, err := Decode(append(bytes.Clone(line), '\n'), lim); err != nil {
		t.Errorf("line of exactly MaxLine bytes plus newline: %v", err)
	}
	if _, err := Decode(append(bytes.Clone(line), ' '), lim); !errors.Is(err, ErrTooLong) {
		t.Errorf("one byte over: err = %v, want ErrTooLong", err)
	}
}

func TestStringField(t *testing.T) {
	p := Payload{"s": "v", "n": nil, "i": int64(3)}
	for _, tc := range []struct {
		key           string
		value         string
		present, null bool
	}{
		{"s", "v", true, false},
		{"n", "", true, true},
		{"i", "", true, false},
		{"missing", "", false, false},
	} {
		v, present, null := StringField(p, tc.key)
		if v != tc.value || present != tc.present || null != tc.null {
			t.Errorf("StringField(%q) = %q, %v, %v; want %q, %v, %v", tc.key, v, present, null, tc.value, tc.present, tc.null)
		}
	}
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// FuzzDecode: any line either decodes or fails with one of the typed
// errors; nothing panics, and a decoded message re-encodes and decodes to
// the same payload.
func FuzzDecode(f *testing.F) {
	v := loadVectors(f)
	for _, s := range []string{
		v.ServerLine,
		`{"remote_addr":"h:1","content":{"_version":"1.3.0","_payload":{"a":[1,2.5,null]},"_type":{}}}`,
		`{"remote_addr":"h:1","content":"{\"_type\":\"x\"}"}`,
		`{"remote_addr":"h:1","content":"from to intent"}`,
		"Warning: Server disconnected.",
		`{"remote_addr":"h:1","content":"{\"s\":\"\\ud83d\\ude00\"}"}`,
		`{"content":5}`, `{`, "\xff",
	} {
		f.Add([]byte(s))
	}
	known := []error{ErrTooLong, ErrTooDeep, ErrMalformed, ErrNotRelayed, ErrBadContent}
	f.Fuzz(func(t *testing.T, line []byte) {
		in, err := Decode(line, Limits{MaxLine: 4096, MaxDepth: 16})
		if err != nil {
			for _, k := range known {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		if in.Kind == KindText {
			return
		}
		if in.Kind != KindMessage || in.Payload == nil {
			t.Fatalf("message without payload: %#v", in)
		}
		enc, err := Encode(in.Payload)
		if err != nil {
			t.Fatalf("decoded payload does not re-encode: %v", err)
		}
		again, err := Decode(relayWrap(in.RemoteAddr, enc), Limits{MaxLine: 1 << 20, MaxDepth: 64})
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !equalPayload(again.Payload, in.Payload) {
			t.Fatalf("round trip changed payload:\n%#v\n%#v", in.Payload, again.Payload)
		}
	})
}
