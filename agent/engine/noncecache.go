package engine

import "github.com/hsfleet/hsfleet/agent/protocol"

// nonceCache mirrors one conversation's nonce log in RAM. The conversation's
// goroutine is the log's only writer, so once the log was emptied by this
// process (DeletePairNonces at the end of a cycle) the mirror is complete
// and lookups need no database round trip. Until then (rows may predate a
// restart) a miss falls through to the database.
type nonceCache struct {
	received, sent map[string]struct{}
	complete       bool
}

func newNonceCache() *nonceCache {
	return &nonceCache{received: map[string]struct{}{}, sent: map[string]struct{}{}}
}

func (n *nonceCache) set(flow string) map[string]struct{} {
	if flow == protocol.FlowSent {
		return n.sent
	}
	return n.received
}

// lookup answers from RAM: known is false when the database must be asked.
func (n *nonceCache) lookup(flow, nonce string) (found, known bool) {
	if _, ok := n.set(flow)[nonce]; ok {
		return true, true
	}
	return false, n.complete
}

// Add records nonce under flow (protocol.NonceMirror).
func (n *nonceCache) Add(flow, nonce string) { n.set(flow)[nonce] = struct{}{} }

// Reset follows DeletePairNonces: the log is empty, and the mirror
// complete (protocol.NonceMirror).
func (n *nonceCache) Reset() {
	clear(n.received)
	clear(n.sent)
	n.complete = true
}
