package relay

import (
	"encoding/json"
)

// With a trust bundle the relay must know which agent ID a line claims as
// its sender, the way receivers will read it: the Python client and
// hsfleet's decoder both take "from" from the typed envelope's _payload
// (an object with _version, _payload and _type) or from the bare payload,
// the last duplicate key winning, escapes decoded, and the Python client
// also json.loads any string that is JSON (fully_recover_json), so a
// string _payload can carry a "from" too. scanClaim does not decode: any
// shape where a fast scan could disagree with those receivers is reported
// as ambiguous, and the caller treats it as a claim it cannot check.

// claim is what scanClaim found.
type claim struct {
	from, to  []byte // raw, unescaped; nil when absent, null or not a string
	ambiguous bool   // a receiver might read a "from" the scan cannot vouch for
}

// maxClaimStringDepth bounds how many JSON-string layers scanClaim peels
// off a line the way the Python client's fully_recover_json does.
const maxClaimStringDepth = 4

// scanClaim reads the sender claim (and the directed recipient) of line.
func scanClaim(line []byte) claim { return scanClaimDepth(line, 0) }

func scanClaimDepth(line []byte, depth int) claim {
	i := skipWS(line, 0)
	if i >= len(line) {
		return claim{}
	}
	switch line[i] {
	case '{':
	case '"':
		// A JSON string: the Python client decodes it and, if the text
		// is JSON again, decodes that. Rare, so decoded for real.
		s, ok := decodeJSONString(line)
		if !ok {
			return claim{} // stays plain text for every receiver
		}
		if depth >= maxClaimStringDepth {
			return claim{ambiguous: true}
		}
		return scanClaimDepth([]byte(s), depth+1)
	default:
		return claim{} // plain text: no receiver reads a "from"
	}
	var top, payload claim
	var nFrom, nPayload, nVersion, nType int
	payloadIsObject := false
	end, ok := scanObject(line, i, func(key []byte, v int) (int, bool) {
		if key == nil { // escaped key: could spell any name
			top.ambiguous = true
			return skipValue(line, v, 1)
		}
		switch string(key) {
		case "_payload":
			nPayload++
			if v < len(line) && line[v] == '{' {
				payloadIsObject = true
				return scanClaimPayload(line, v, &payload)
			}
			if v < len(line) && line[v] == '"' {
				_, _, next, _, ok := scanString(line, v)
				if ok && stringMayHoldObject(line[v:next]) {
					payload.ambiguous = true // the Python client would decode it
				}
				return next, ok
			}
		case "_version":
			nVersion++
		case "_type":
			nType++
		case "from":
			nFrom++
			return takeClaimString(line, v, &top)
		case "to":
			return takeString(line, v, &top.to)
		}
		return skipValue(line, v, 1)
	})
	if !ok || skipWS(line, end) != len(line) {
		// Not JSON for the scan. Python agrees unless the line nests
		// deeper than the scan goes; then no verdict is possible.
		if pySafeObject(line) {
			return claim{ambiguous: true}
		}
		return claim{}
	}
	if nFrom > 1 || nPayload > 1 || nVersion > 1 || nType > 1 {
		return claim{ambiguous: true}
	}
	if top.ambiguous || payload.ambiguous {
		return claim{ambiguous: true}
	}
	if nVersion == 1 && nPayload == 1 && nType == 1 {
		if !payloadIsObject {
			return claim{}
		}
		return payload
	}
	return top
}

// scanClaimPayload records from/to of the _payload object at i.
func scanClaimPayload(b []byte, i int, out *claim) (int, bool) {
	nFrom := 0
	end, ok := scanObject(b, i, func(key []byte, v int) (int, bool) {
		if key == nil {
			out.ambiguous = true
			return skipValue(b, v, 2)
		}
		switch string(key) {
		case "from":
			nFrom++
			return takeClaimString(b, v, out)
		case "to":
			return takeString(b, v, &out.to)
		}
		return skipValue(b, v, 2)
	})
	if nFrom > 1 {
		out.ambiguous = true
	}
	return end, ok
}

// takeClaimString stores an unescaped string "from" in out.from; an
// escaped one makes the claim ambiguous, anything else is no claim.
func takeClaimString(b []byte, v int, out *claim) (int, bool) {
	if v < len(b) && b[v] == '"' {
		s, e, next, escaped, ok := scanString(b, v)
		if !ok {
			return 0, false
		}
		out.from = nil
		if escaped {
			out.ambiguous = true
		} else {
			out.from = b[s:e]
		}
		return next, true
	}
	out.from = nil
	return skipValue(b, v, 1)
}

// decodeJSONString decodes the JSON string that is all of b.
func decodeJSONString(b []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false
	}
	return s, true
}

// stringMayHoldObject reports whether the JSON string literal lit decodes
// to text that the Python client would decode again into something that
// may carry a "from" (an object, or another JSON string).
func stringMayHoldObject(lit []byte) bool {
	suspect := false
	for _, c := range lit {
		if c == '\\' || c == '{' {
			suspect = true
			break
		}
	}
	if !suspect {
		return false // no brace anywhere: cannot become an object
	}
	s, ok := decodeJSONString(lit)
	if !ok {
		return true
	}
	i := skipWS([]byte(s), 0)
	return i < len(s) && (s[i] == '{' || s[i] == '"')
}
