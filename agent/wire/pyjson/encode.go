package pyjson

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrUnsupported reports a value the encoder has no JSON form for, such as a
// NaN, an infinity, a channel or a struct.
var ErrUnsupported = errors.New("pyjson: unsupported value")

// maxEncodeDepth stops a self-referencing map from recursing until the stack
// overflows; Python raises "Circular reference detected" in the same place.
const maxEncodeDepth = 512

// Marshal returns the canonical (Python-compatible) encoding of v.
func Marshal(v any) ([]byte, error) {
	return Append(make([]byte, 0, sizeHint(v, 2)), v)
}

// sizeHint guesses the encoded size, so a 1 KiB message is not copied
// through five growing buffers. Escapes are not counted; extra room is
// left for an AEAD tag when the caller seals the result in place.
func sizeHint(v any, depth int) int {
	const tagRoom = 16
	n := tagRoom
	switch x := v.(type) {
	case string:
		n += len(x) + 2
	case map[string]any:
		n += 2
		for k, e := range x {
			n += len(k) + 4
			if depth > 0 {
				n += sizeHint(e, depth-1) - tagRoom
			} else {
				n += 16
			}
		}
	case map[string]string:
		n += 2
		for k, e := range x {
			n += len(k) + len(e) + 6
		}
	default:
		n += 48
	}
	return n
}

// Append appends the canonical encoding of v to dst. Supported values: nil,
// string, bool, every integer kind, float32/float64 (finite), map[string]any,
// map[string]string, []any and []string, nested arbitrarily.
func Append(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return dst, fmt.Errorf("%w: nesting deeper than %d", ErrUnsupported, maxEncodeDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case float32:
		return AppendFloat(dst, float64(x))
	case float64:
		return AppendFloat(dst, x)
	case map[string]any:
		return appendMap(dst, x, depth)
	case map[string]string:
		var small [16]string // keeps the key slice off the heap for small maps
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = AppendString(dst, x[k])
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e)
		}
		return append(dst, ']'), nil
	default:
		return dst, fmt.Errorf("%w: %T", ErrUnsupported, v)
	}
}

func appendMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	// Keys sorted by UTF-8 bytes, which is code point order: the order of
	// Python's sort_keys for str keys.
	var small [16]string // keeps the key slice off the heap for small maps
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, m[k], depth+1); err != nil {
			return dst, fmt.Errorf("key %q: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal the way Python's
// ensure_ascii encoder writes it: printable ASCII (0x20-0x7e) verbatim apart
// from '"' and '\\'; \n \r \t \b \f short escapes; every other code point as
// lowercase \uXXXX, with UTF-16 surrogate pairs above U+FFFF. Invalid UTF-8
// bytes become U+FFFD, as a Go string cannot hold a Python str's lone surrogates.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b < 0x7f && b != '"' && b != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if b < utf8.RuneSelf {
			switch b {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default: // other control characters and DEL
				dst = appendU(dst, rune(b))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			dst = appendU(appendU(dst, hi), lo)
		} else {
			dst = appendU(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// AppendFloat appends f as Python's float repr: the shortest digits that
// round-trip, positional for decimal exponents in [-4, 16) with at least one
// fractional digit ("1.0"), scientific otherwise ("1e+16", "1.5e-05").
func AppendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%w: %v is not valid JSON", ErrUnsupported, f)
	}
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	exp := decimalExponent(sci)
	if exp < -4 || exp >= 16 {
		return append(dst, sci...), nil
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst, nil
		}
	}
	return append(dst, '.', '0'), nil
}

// decimalExponent reads the exponent of strconv's 'e' format ("d.ddde±XX").
func decimalExponent(sci []byte) int {
	for i := len(sci) - 1; i >= 0; i-- {
		if sci[i] == 'e' {
			n, _ := strconv.Atoi(string(sci[i+1:]))
			return n
		}
	}
	return 0
}
