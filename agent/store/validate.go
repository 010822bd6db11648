package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on stored text. Peer IDs, nonces and references arrive from the
// network, so they are bounded before they reach the database.
const (
	maxIDLen    = 255
	maxStateLen = 64
	maxTokenLen = 255  // nonces, references, addresses
	maxKeyLen   = 1024 // encoded public keys
	maxNameLen  = 253  // Kubernetes object names and namespaces
)

// Role is the side an agent plays in one conversation with a peer.
type Role string

const (
	Initiator Role = "initiator"
	Responder Role = "responder"
)

// Nonce flows recorded in nonce_event.
const (
	FlowSent     = "sent"
	FlowReceived = "received"
	// FlowHS logs the nonces of verified hs objects. It outlives the
	// cycle (DeletePairNonces keeps it) so an hs cannot be replayed into a
	// later cycle within the hs TTL; DeleteHSNoncesOlderThan prunes it.
	FlowHS = "hs"
)

// Key identifies one conversation: one row of role_state.
type Key struct {
	SelfID string
	Role   Role
	PeerID string
}

func (k Key) validate() error {
	if k.Role != Initiator && k.Role != Responder {
		return fmt.Errorf("%w: role %q (want initiator or responder)", ErrInvalid, k.Role)
	}
	if err := checkText("self_id", k.SelfID, maxIDLen, true); err != nil {
		return err
	}
	return checkText("peer_id", k.PeerID, maxIDLen, true)
}

func checkFlow(flow string) error {
	if flow != FlowSent && flow != FlowReceived && flow != FlowHS {
		return fmt.Errorf("%w: flow %q (want sent, received or hs)", ErrInvalid, flow)
	}
	return nil
}

// checkText rejects what PostgreSQL text cannot hold (NUL, invalid UTF-8)
// and what no legitimate peer sends (oversized values), with the same
// error on both dialects.
func checkText(field, v string, max int, required bool) error {
	switch {
	case required && v == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	case len(v) > max:
		return fmt.Errorf("%w: %s is %d bytes (max %d)", ErrInvalid, field, len(v), max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, field)
	}
	return nil
}

func checkOptText(field string, v *string, max int) error {
	if v == nil {
		return nil
	}
	return checkText(field, *v, max, false)
}
