package relay

import "errors"

// A presence message tells the other replicas which proven agent IDs a
// replica holds: one op byte, the replica's name (length byte + bytes),
// then IDs, each a length byte and the ID. Messages come from other
// replicas, so decodePresence trusts nothing.

const (
	presenceHere    = '+' // these IDs are proven here (bound, or the periodic re-announce)
	presenceGone    = '-' // these IDs left here
	presenceRequest = '?' // a replica (re)started: re-announce now (no IDs)

	maxReplicaName = 64
	// presenceChunk bounds one message so a large fleet's re-announce
	// stays well under NATS's max payload.
	presenceChunk = 32 << 10
)

var errPresence = errors.New("malformed cluster presence message")

func appendPresenceHeader(dst []byte, op byte, replica string) []byte {
	dst = append(dst, op, byte(len(replica)))
	return append(dst, replica...)
}

// appendPresenceID adds one ID; callers keep IDs within maxRouteID.
func appendPresenceID(dst []byte, id string) []byte {
	dst = append(dst, byte(len(id)))
	return append(dst, id...)
}

// decodePresence splits a presence message; the slices alias b.
func decodePresence(b []byte) (op byte, replica []byte, ids [][]byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errPresence
	}
	op = b[0]
	if op != presenceHere && op != presenceGone && op != presenceRequest {
		return 0, nil, nil, errPresence
	}
	n := int(b[1])
	if n == 0 || n > maxReplicaName || len(b) < 2+n {
		return 0, nil, nil, errPresence
	}
	replica, b = b[2:2+n], b[2+n:]
	if op == presenceRequest && len(b) > 0 {
		return 0, nil, nil, errPresence
	}
	for len(b) > 0 {
		n = int(b[0])
		if n == 0 || n > maxRouteID || len(b) < 1+n {
			return 0, nil, nil, errPresence
		}
		ids = append(ids, b[1:1+n])
		b = b[1+n:]
	}
	return op, replica, ids, nil
}
