package relay

import (
	"errors"
	"net"
	"testing"
)

// Expected strings were produced by CPython 3's
// json.dumps({"remote_addr": addr, "content": line}), the reference server's
// own call, so these pin byte-exact compatibility.
func TestAppendWrappedMatchesPythonJSONDumps(t *testing.T) {
	const addr = "127.0.0.1:39602"
	tests := []struct {
		name, line, want string
	}{
		{"empty line", "", `{"remote_addr": "127.0.0.1:39602", "content": ""}`},
		{"plain ASCII", "hello world", `{"remote_addr": "127.0.0.1:39602", "content": "hello world"}`},
		{"quotes and backslash", `say "hi" \ back`, `{"remote_addr": "127.0.0.1:39602", "content": "say \"hi\" \\ back"}`},
		{"tab and carriage return kept", "tab\there\r", `{"remote_addr": "127.0.0.1:39602", "content": "tab\there\r"}`},
		{"control bytes and DEL", "ctl\x00\x01\x1f\x7f", `{"remote_addr": "127.0.0.1:39602", "content": "ctl\u0000\u0001\u001f\u007f"}`},
		{"BMP non-ASCII lower-case hex", "caf\u00e9 \u20ac", `{"remote_addr": "127.0.0.1:39602", "content": "caf\u00e9 \u20ac"}`},
		{"astral as surrogate pair", "emoji \U0001F600!", `{"remote_addr": "127.0.0.1:39602", "content": "emoji \ud83d\ude00!"}`},
		{"byte order mark", "\ufeffbom", `{"remote_addr": "127.0.0.1:39602", "content": "\ufeffbom"}`},
		{"backspace formfeed and slash", "\b\f/<>", `{"remote_addr": "127.0.0.1:39602", "content": "\b\f/<>"}`},
		{"typed envelope from the spec",
			`{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9"}, "_type": {"to": "null", "intent": "str", "from": "str"}}`,
			`{"remote_addr": "127.0.0.1:39602", "content": "{\"_version\": \"1.3.0\", \"_payload\": {\"to\": null, \"intent\": \"register\", \"from\": \"d8045fd9\"}, \"_type\": {\"to\": \"null\", \"intent\": \"str\", \"from\": \"str\"}}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendWrapped(nil, addr, []byte(tt.line))
			if err != nil {
				t.Fatalf("AppendWrapped: %v", err)
			}
			if want := tt.want + "\n"; string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendWrappedRejectsInvalidUTF8AndLeavesDstUnchanged(t *testing.T) {
	tests := []struct{ name, line string }{
		{"lone continuation byte", "a\x80b"},
		{"truncated two-byte sequence", "caf\xc3"},
		{"overlong encoding of slash", "\xc0\xaf"},
		{"UTF-16 surrogate encoded in UTF-8", "\xed\xa0\x80"},
		{"beyond U+10FFFF", "\xf4\x90\x80\x80"},
		{"latin-1 byte", "caf\xe9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendWrapped(dst, "1.2.3.4:5", []byte(tt.line))
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("err = %v, want ErrInvalidUTF8", err)
			}
			if string(got) != "keep" {
				t.Errorf("dst = %q, want it unchanged", got)
			}
		})
	}
}

func TestAppendWrappedKeepsEncodedReplacementCharacter(t *testing.T) {
	got, err := AppendWrapped(nil, "1.2.3.4:5", []byte("\xef\xbf\xbd"))
	if err != nil {
		t.Fatalf("U+FFFD written as UTF-8 is valid: %v", err)
	}
	if want := `{"remote_addr": "1.2.3.4:5", "content": "\ufffd"}` + "\n"; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFormatAddrMatchesPythonFormatAddr(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want string
	}{
		{"IPv4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 39594}, "127.0.0.1:39594"},
		{"IPv6 loopback bracketed", &net.TCPAddr{IP: net.IPv6loopback, Port: 5555}, "[::1]:5555"},
		{"IPv4-mapped IPv6 shown as IPv4", &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.7"), Port: 80}, "10.0.0.7:80"},
		{"link-local with zone", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 9, Zone: "eth0"}, "[fe80::1%eth0]:9"},
		{"nil address", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatAddr(tt.addr); got != tt.want {
				t.Errorf("FormatAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkAppendWrapped300B(b *testing.B) {
	line := make([]byte, 300)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	prefix := wrapPrefix("127.0.0.1:39602")
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendWrappedPrefix(buf[:0], prefix, line)
	}
}
