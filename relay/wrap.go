package relay

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// ErrInvalidUTF8 reports a received line that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("line is not valid UTF-8")

const hexDigits = "0123456789abcdef"

// asciiSafe[b] is true for the bytes Python's ensure_ascii leaves as they are:
// printable ASCII except '"' and '\'.
var asciiSafe = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// wrapPrefix returns the constant head of every wrapper for one sender:
// {"remote_addr": "<addr>", "content": "
func wrapPrefix(addr string) []byte {
	b := make([]byte, 0, 48+len(addr))
	b = append(b, `{"remote_addr": `...)
	b, _ = appendPythonString(b, []byte(addr))
	return append(b, `, "content": "`...)
}

// wrapSuffix closes the content string and the object and ends the line.
const wrapSuffix = "\"}\n"

// AppendWrapped appends the relay wrapper for line, sent by addr, to dst,
// formatted exactly as the Python server's json.dumps. line must not contain
// its trailing newline. It returns ErrInvalidUTF8 (and dst unchanged) when
// line is not valid UTF-8.
func AppendWrapped(dst []byte, addr string, line []byte) ([]byte, error) {
	return appendWrappedPrefix(dst, wrapPrefix(addr), line)
}

func appendWrappedPrefix(dst, prefix, line []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, prefix...)
	dst, err := appendEscaped(dst, line)
	if err != nil {
		return dst[:n], err
	}
	return append(dst, wrapSuffix...), nil
}

// appendPythonString appends s as a quoted JSON string, Python-style.
func appendPythonString(dst, s []byte) ([]byte, error) {
	dst = append(dst, '"')
	dst, err := appendEscaped(dst, s)
	return append(dst, '"'), err
}

// appendEscaped appends the body of a JSON string (no quotes) with
// ensure_ascii escaping, validating UTF-8 on the way. Runs of safe ASCII are
// copied in one append; that is nearly every byte of an agent's line.
func appendEscaped(dst, s []byte) ([]byte, error) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if asciiSafe[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			dst = appendASCIIEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, ErrInvalidUTF8
		}
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU4(dst, 0xd800|(r>>10)&0x3ff)
			dst = appendU4(dst, 0xdc00|r&0x3ff)
		} else {
			dst = appendU4(dst, r)
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...), nil
}

func appendASCIIEscape(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return appendU4(dst, rune(c))
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// FormatAddr renders a peer address the way the Python server's format_addr
// does: "ip:port" for IPv4 (also when it reached an IPv6 socket as
// ::ffff:a.b.c.d), "[ip]:port" for IPv6, with "%zone" only when present.
func FormatAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ap := tcp.AddrPort()
		ip := ap.Addr().Unmap()
		return formatAddrPort(ip, ap.Port())
	}
	if a == nil {
		return ""
	}
	return a.String()
}

func formatAddrPort(ip netip.Addr, port uint16) string {
	if ip.Is4() {
		return ip.String() + ":" + strconv.Itoa(int(port))
	}
	return "[" + ip.String() + "]:" + strconv.Itoa(int(port))
}
