package relay

import "unicode/utf8"

// A Summoner client reads every relayed line with Python's json.loads and
// then json.loads again every string inside it (fully_recover_json in
// summoner/utils/json_handlers.py). pySafeObject answers, in one pass and
// without allocating for ordinary lines, whether a line survives that: it
// is a JSON object for Python's grammar, and neither parse can raise
// anything but JSONDecodeError (which the client catches). The two other
// errors the parse can raise kill the client:
//   - RecursionError from deep nesting (recursion limit 1000; each level
//     costs the decoder and fully_recover_json a frame or two), and
//   - ValueError from an integer literal of more than 4300 digits
//     (sys.int_info.default_max_str_digits).
// Both count nesting and digits inside JSON-looking strings too, because
// the client parses those as well.

const (
	// pyMaxDepth bounds nesting, strings that parse as JSON included.
	// Far below the depth that exhausts Python's 1000 frames, far above
	// any envelope (a Summoner envelope nests 3 or 4 levels).
	pyMaxDepth = 128
	// pyMaxIntDigits is CPython's default int_max_str_digits.
	pyMaxIntDigits = 4300
)

// pyParse outcomes. pyDanger means Python would raise something other than
// JSONDecodeError before (or instead of) finding a syntax error.
type pyResult uint8

const (
	pyOK pyResult = iota
	pySyntax
	pyDanger
)

// pySafeObject reports whether line is a JSON object Python's json.loads
// accepts and a Summoner client can recover without raising.
func pySafeObject(line []byte) bool {
	p := pyParser{b: line}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false
	}
	if p.value(0) != pyOK {
		return false
	}
	p.ws()
	return p.i == len(p.b)
}

type pyParser struct {
	b []byte
	i int
}

func (p *pyParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value parses one value at nesting depth (the containers around it).
func (p *pyParser) value(depth int) pyResult {
	if p.i >= len(p.b) {
		return pySyntax
	}
	switch c := p.b[p.i]; {
	case c == '{' || c == '[':
		return p.container(depth + 1)
	case c == '"':
		return p.str(depth)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, lit := range pyLiterals {
		if hasPrefix(p.b[p.i:], lit) {
			p.i += len(lit)
			return pyOK
		}
	}
	return pySyntax
}

// pyLiterals are the bare words json.loads accepts (NaN and the infinities
// are Python extensions to JSON).
var pyLiterals = [...]string{"true", "false", "null", "NaN", "Infinity", "-Infinity"}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// container parses an object or array whose opening bracket is at p.i.
func (p *pyParser) container(depth int) pyResult {
	if depth > pyMaxDepth {
		return pyDanger
	}
	obj := p.b[p.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == end {
		p.i++
		return pyOK
	}
	for {
		if obj {
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return pySyntax
			}
			if r := p.str(depth); r != pyOK {
				return r
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return pySyntax
			}
			p.i++
			p.ws()
		}
		if r := p.value(depth); r != pyOK {
			return r
		}
		p.ws()
		if p.i >= len(p.b) {
			return pySyntax
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case end:
			p.i++
			return pyOK
		default:
			return pySyntax
		}
	}
}

// number parses a JSON number and flags an integer Python cannot convert.
func (p *pyParser) number() pyResult {
	if hasPrefix(p.b[p.i:], "-Infinity") {
		p.i += len("-Infinity")
		return pyOK
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if !p.digits() {
		return pySyntax
	}
	integer := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.digits() {
			return pySyntax
		}
		integer = false
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return pySyntax
		}
		integer = false
	}
	if integer && p.i-start > pyMaxIntDigits {
		return pyDanger
	}
	return pyOK
}

func (p *pyParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str parses a string at p.i and, when its text could itself be JSON,
// checks that the client's second json.loads of it is safe at this depth.
func (p *pyParser) str(depth int) pyResult {
	p.i++ // opening quote
	start, escaped := p.i, false
	for p.i < len(p.b) {
		for p.i < len(p.b) && strPlain[p.b[p.i]] {
			p.i++
		}
		if p.i >= len(p.b) {
			break
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			body := p.b[start:p.i]
			p.i++
			return pyNestedSafe(body, escaped, depth)
		case c == '\\':
			if !p.escape() {
				return pySyntax
			}
			escaped = true
		case c < 0x20:
			return pySyntax // json.loads is strict about control characters
		default:
			p.i++
		}
	}
	return pySyntax
}

// strPlain[b] is true for bytes that need no attention inside a string.
var strPlain = func() (t [256]bool) {
	for b := 0x20; b < 0x100; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// escape checks one backslash escape at p.i and moves past it.
func (p *pyParser) escape() bool {
	if p.i+1 >= len(p.b) {
		return false
	}
	switch p.b[p.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		p.i += 2
		return true
	case 'u':
		if p.i+6 > len(p.b) {
			return false
		}
		for _, h := range p.b[p.i+2 : p.i+6] {
			if hexVal(h) < 0 {
				return false
			}
		}
		p.i += 6
		return true
	}
	return false
}

// pyNestedSafe applies fully_recover_json's json.loads to a string's text.
// Only a parse that raises something other than JSONDecodeError matters;
// text that is not JSON stays a string, which is harmless.
func pyNestedSafe(body []byte, escaped bool, depth int) pyResult {
	if !mayBeJSON(body) {
		return pyOK
	}
	if escaped {
		body = unescapeJSON(body)
	}
	q := pyParser{b: body}
	q.ws()
	if q.value(depth) == pyDanger {
		return pyDanger
	}
	return pyOK
}

// mayBeJSON is a cheap pre-check: the text (possibly still escaped) starts,
// after whitespace, with a byte that can begin a JSON value. Hex nonces that
// start with a digit pass it and are then rejected by the number parser
// after a few bytes.
func mayBeJSON(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == ' ' || c == '\t':
		case c == '\\':
			return true // an escape up front: decide after decoding
		default:
			return c == '{' || c == '[' || c == '"' || c == '-' || c >= '0' && c <= '9' ||
				c == 't' || c == 'f' || c == 'n' || c == 'N' || c == 'I'
		}
	}
	return false
}

// unescapeJSON decodes a string body that the parser has already checked.
// Characters are only inspected for structure, so a lone surrogate may
// become U+FFFD without changing the verdict.
func unescapeJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hexVal(b[i+1])<<12 | hexVal(b[i+2])<<8 | hexVal(b[i+3])<<4 | hexVal(b[i+4]))
			out = utf8.AppendRune(out, r)
			i += 4
		default: // '"', '\\', '/'
			out = append(out, b[i])
		}
	}
	return out
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
