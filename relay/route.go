package relay

// Directed routing needs only two string fields out of a typed envelope, so
// instead of a full JSON decode (allocations, ~µs per line) this scans the
// bytes once and returns subslices. Anything unexpected yields "unknown",
// which makes the caller fall back to broadcast: a routing mistake can only
// cost bandwidth, never lose a line.

const maxRouteDepth = 32

// routeFields holds the "from" and "to" of a payload. A nil field was
// missing, null, not a string or escaped (ids are plain ASCII, so escaped
// ids are not worth decoding).
type routeFields struct {
	from, to []byte
}

// scanRoute finds "from" and "to" in line's "_payload" object (a typed
// envelope) or, failing that, at the top level (a bare payload).
func scanRoute(line []byte) routeFields {
	var top, payload routeFields
	sawPayload := false
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return routeFields{}
	}
	_, ok := scanObject(line, i, func(key []byte, v int) (int, bool) {
		switch string(key) {
		case "_payload":
			if v < len(line) && line[v] == '{' {
				sawPayload = true
				return scanFlatFields(line, v, &payload)
			}
		case "from":
			return takeString(line, v, &top.from)
		case "to":
			return takeString(line, v, &top.to)
		}
		return skipValue(line, v, 1)
	})
	if !ok {
		return routeFields{}
	}
	if sawPayload {
		return payload
	}
	return top
}

// scanFlatFields records from/to of the object at i and returns its end.
func scanFlatFields(b []byte, i int, out *routeFields) (int, bool) {
	return scanObject(b, i, func(key []byte, v int) (int, bool) {
		switch string(key) {
		case "from":
			return takeString(b, v, &out.from)
		case "to":
			return takeString(b, v, &out.to)
		}
		return skipValue(b, v, 2)
	})
}

// scanObject walks the members of the object starting at b[i] == '{',
// calling member with each raw key and the index of its value; member
// returns the index just past the value. It returns the index past '}'.
func scanObject(b []byte, i int, member func(key []byte, v int) (int, bool)) (int, bool) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for i < len(b) {
		keyStart, keyEnd, next, escaped, ok := scanString(b, i)
		if !ok {
			return 0, false
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		v := skipWS(b, i+1)
		key := b[keyStart:keyEnd]
		if escaped {
			key = nil // never equals a name we look for
		}
		if i, ok = member(key, v); !ok {
			return 0, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// takeString stores the string value at b[v] in *dst (nil for null,
// non-strings and escaped strings) and returns the index past the value.
func takeString(b []byte, v int, dst *[]byte) (int, bool) {
	if v < len(b) && b[v] == '"' {
		s, e, next, escaped, ok := scanString(b, v)
		if !ok {
			return 0, false
		}
		*dst = nil
		if !escaped {
			*dst = b[s:e]
		}
		return next, true
	}
	*dst = nil
	return skipValue(b, v, 1)
}

// scanString parses the string at b[i] == '"' and returns the bounds of its
// raw body, the index after the closing quote, and whether it has escapes.
func scanString(b []byte, i int) (start, end, next int, escaped, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, 0, false, false
	}
	start = i + 1
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return start, j, j + 1, escaped, true
		}
	}
	return 0, 0, 0, false, false
}

// skipValue returns the index just past the JSON value at b[i]. It checks
// structure only as far as needed to find the end.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxRouteDepth {
		return 0, false
	}
	switch b[i] {
	case '"':
		_, _, next, _, ok := scanString(b, i)
		return next, ok
	case '{', '[':
		open, closing := b[i], byte('}')
		if open == '[' {
			closing = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closing {
			return i + 1, true
		}
		for i < len(b) {
			if open == '{' {
				_, _, next, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = skipWS(b, next)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipWS(b, i+1)
			}
			next, ok := skipValue(b, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipWS(b, next)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closing {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipWS(b, i+1)
		}
		return 0, false
	default:
		// number, true, false, null: up to the next delimiter
		j := i
		for j < len(b) && !isDelim(b[j]) {
			j++
		}
		return j, j > i
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
