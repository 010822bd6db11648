package relay

import "errors"

// A bus line is one byte giving the length of the directed recipient id
// (0: broadcast), the id, then the wrapped line exactly as clients receive
// it. Lines come from other replicas, so decodeBusLine trusts nothing.

var errBusLine = errors.New("malformed cluster bus line")

func encodeBusLine(dst, to, wrapped []byte) []byte {
	if len(to) > maxRouteID {
		to = nil // never learned, so never routable: broadcast
	}
	dst = append(dst, byte(len(to)))
	dst = append(dst, to...)
	return append(dst, wrapped...)
}

// decodeBusLine splits a bus line; the slices alias b.
func decodeBusLine(b []byte) (to, wrapped []byte, err error) {
	if len(b) < 1 {
		return nil, nil, errBusLine
	}
	n := int(b[0])
	if n > maxRouteID || len(b) < 1+n+1 || b[len(b)-1] != '\n' {
		return nil, nil, errBusLine
	}
	return b[1 : 1+n], b[1+n:], nil
}
