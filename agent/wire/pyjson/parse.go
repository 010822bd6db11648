package pyjson

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	// ErrSyntax reports input that is not a single valid JSON value.
	ErrSyntax = errors.New("pyjson: invalid JSON")
	// ErrTooDeep reports objects and arrays nested deeper than allowed.
	ErrTooDeep = errors.New("pyjson: nesting too deep")
)

// DefaultMaxDepth bounds nesting when a caller passes a depth <= 0.
const DefaultMaxDepth = 32

// Parse decodes one JSON value. Objects become map[string]any (a repeated key
// keeps its last value, like Python), arrays []any, integers without fraction
// or exponent int64 (float64 when they overflow), other numbers float64.
// Invalid UTF-8, trailing data and numbers beyond float64 are errors.
func Parse[T string | []byte](data T, maxDepth int) (any, error) {
	p := parser[T]{data: data, maxDepth: depthOrDefault(maxDepth)}
	if !validUTF8(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrSyntax)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseObject is Parse for input that must be a JSON object. Values of the
// top-level keys listed in skip are checked for syntax but not built; such a
// key maps to nil, so the caller can still see that it was there.
func ParseObject[T string | []byte](data T, maxDepth int, skip ...string) (map[string]any, error) {
	p := parser[T]{data: data, maxDepth: depthOrDefault(maxDepth), skip: skip}
	if !validUTF8(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrSyntax)
	}
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		return nil, p.errorf("expected an object")
	}
	m, err := p.object()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return m, nil
}

func depthOrDefault(d int) int {
	if d <= 0 {
		return DefaultMaxDepth
	}
	return d
}

func validUTF8[T string | []byte](data T) bool {
	switch d := any(data).(type) {
	case string:
		return utf8.ValidString(d)
	case []byte:
		return utf8.Valid(d)
	}
	return false
}

type parser[T string | []byte] struct {
	data     T
	pos      int
	depth    int
	maxDepth int
	skip     []string // top-level object keys whose values are skipped
	buf      []byte   // scratch for unescaping strings
}

func (p *parser[T]) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *parser[T]) end() error {
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.errorf("trailing data")
	}
	return nil
}

func (p *parser[T]) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser[T]) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		m, err := p.object()
		if err != nil {
			return nil, err
		}
		return m, nil
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errorf("unexpected character %q", c)
	}
}

func (p *parser[T]) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf("invalid literal")
	}
	p.pos += len(word)
	return nil
}

func (p *parser[T]) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return fmt.Errorf("%w: more than %d levels at offset %d", ErrTooDeep, p.maxDepth, p.pos)
	}
	return nil
}

func (p *parser[T]) object() (map[string]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	top := p.depth == 1
	p.pos++ // '{'
	m := make(map[string]any, 8)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected a string key")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':' after key")
		}
		p.pos++
		var v any
		if top && p.skipped(key) {
			err = p.skipValue()
		} else {
			v, err = p.value()
		}
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return m, nil
		default:
			return nil, p.errorf("expected ',' or '}' in object")
		}
	}
}

func (p *parser[T]) skipped(key string) bool {
	for _, s := range p.skip {
		if s == key {
			return true
		}
	}
	return false
}

func (p *parser[T]) array() ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '['
	a := make([]any, 0, 4)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return a, nil
		default:
			return nil, p.errorf("expected ',' or ']' in array")
		}
	}
}

// skipValue validates one value without building it.
func (p *parser[T]) skipValue() error {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		if err := p.enter(); err != nil {
			return err
		}
		p.pos++
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			p.depth--
			return nil
		}
		for {
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return p.errorf("expected a string key")
			}
			if err := p.skipString(); err != nil {
				return err
			}
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return p.errorf("expected ':' after key")
			}
			p.pos++
			if err := p.skipValue(); err != nil {
				return err
			}
			p.skipSpace()
			if p.pos >= len(p.data) {
				return p.errorf("unterminated object")
			}
			switch p.data[p.pos] {
			case ',':
				p.pos++
			case '}':
				p.pos++
				p.depth--
				return nil
			default:
				return p.errorf("expected ',' or '}' in object")
			}
		}
	case c == '[':
		if err := p.enter(); err != nil {
			return err
		}
		p.pos++
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			p.depth--
			return nil
		}
		for {
			if err := p.skipValue(); err != nil {
				return err
			}
			p.skipSpace()
			if p.pos >= len(p.data) {
				return p.errorf("unterminated array")
			}
			switch p.data[p.pos] {
			case ',':
				p.pos++
			case ']':
				p.pos++
				p.depth--
				return nil
			default:
				return p.errorf("expected ',' or ']' in array")
			}
		}
	case c == '"':
		return p.skipString()
	default:
		_, err := p.value() // scalars are cheap to build
		return err
	}
}

// skipString validates a string literal without unescaping it.
func (p *parser[T]) skipString() error {
	p.pos++ // opening quote
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return nil
		case c == '\\':
			if p.pos+1 >= len(p.data) {
				return p.errorf("unterminated string")
			}
			switch p.data[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				if _, ok := p.hex4(p.pos + 2); !ok {
					return p.errorf("invalid \\u escape")
				}
				p.pos += 6
			default:
				return p.errorf("invalid escape")
			}
		case c < 0x20:
			return p.errorf("control character in string")
		default:
			p.pos++
		}
	}
	return p.errorf("unterminated string")
}

// string reads a string literal starting at the opening quote.
func (p *parser[T]) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes, one allocation.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := internString(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("control character in string")
		}
		p.pos++
	}
	if p.pos >= len(p.data) {
		return "", p.errorf("unterminated string")
	}
	if rest := len(p.data) - start; cap(p.buf) < rest {
		p.buf = make([]byte, 0, rest) // unescaping only shrinks
	}
	p.buf = append(p.buf[:0], p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		// Copy the run up to the next quote, backslash or control byte.
		run := p.pos
		for run < len(p.data) && p.data[run] != '"' && p.data[run] != '\\' && p.data[run] >= 0x20 {
			run++
		}
		p.buf = append(p.buf, p.data[p.pos:run]...)
		p.pos = run
		if p.pos >= len(p.data) {
			break
		}
		switch c := p.data[p.pos]; {
		case c == '"':
			p.pos++
			return string(p.buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		}
		if p.pos+1 >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		esc := p.data[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			p.buf = append(p.buf, esc)
		case 'b':
			p.buf = append(p.buf, '\b')
		case 'f':
			p.buf = append(p.buf, '\f')
		case 'n':
			p.buf = append(p.buf, '\n')
		case 'r':
			p.buf = append(p.buf, '\r')
		case 't':
			p.buf = append(p.buf, '\t')
		case 'u':
			r, ok := p.hex4(p.pos)
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one
				// code point; anything else is replaced, like encoding/json.
				if lo, ok := p.lowSurrogate(); ok {
					if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
						p.pos += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			p.buf = utf8.AppendRune(p.buf, r)
		default:
			return "", p.errorf("invalid escape")
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *parser[T]) lowSurrogate() (rune, bool) {
	if len(p.data)-p.pos < 6 || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
		return 0, false
	}
	return p.hex4(p.pos + 2)
}

func (p *parser[T]) hex4(at int) (rune, bool) {
	if len(p.data)-at < 4 {
		return 0, false
	}
	var r rune
	for i := range 4 {
		c := p.data[at+i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func (p *parser[T]) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("invalid number")
	}
	switch c := p.data[p.pos]; {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return nil, p.errorf("invalid number")
	}
	integer := true
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		integer = false
		p.pos++
		if p.digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		integer = false
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	lit := string(p.data[start:p.pos])
	if integer {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, p.errorf("number %.20q out of range", lit)
	}
	return f, nil
}

func (p *parser[T]) digits() int {
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}
