package protocol

import "slices"

// Reason says why a conversation did not accept an inbound message; it is
// the label set of ignored_messages_total (every value is exported at 0
// from the start, so a dashboard sees each series before it first counts).
type Reason string

// The reasons.
const (
	ReasonWrongState    Reason = "wrong_state"
	ReasonMissingField  Reason = "missing_field"
	ReasonEchoMismatch  Reason = "echo_mismatch"
	ReasonReplay        Reason = "replay"
	ReasonRefMismatch   Reason = "ref_mismatch"
	ReasonHSMissing     Reason = "hs_missing"
	ReasonHSInvalid     Reason = "hs_invalid"
	ReasonSecInvalid    Reason = "sec_invalid"
	ReasonPlaintext     Reason = "plaintext_with_key"
	ReasonSecWithoutKey Reason = "sec_without_key"
	// ReasonSlotWaitExpired: a start queued for a cycle slot waited a
	// state timeout and was dropped.
	ReasonSlotWaitExpired Reason = "slot_wait_expired"
	// Transcript binding and finalize MAC (docs/protocol.md §7).
	ReasonBindMissing  Reason = "bind_missing"  // no bind from a peer that must bind
	ReasonBindInvalid  Reason = "bind_invalid"  // bind present but wrong
	ReasonBindMismatch Reason = "bind_mismatch" // sealed hsf missing or not the payload's
	ReasonMACMissing   Reason = "mac_missing"   // finalize message without mac from a binding peer
	ReasonMACInvalid   Reason = "mac_invalid"   // finalize mac does not verify
	// ReasonBootInvalid: a register's boot proof failed its key or
	// signature check.
	ReasonBootInvalid Reason = "boot_invalid"
	// A stranger's cycle start (agent/engine budget.go).
	ReasonStrangerFirst  Reason = "stranger_first_start"
	ReasonStrangerSlots  Reason = "stranger_slots_full"
	ReasonStrangerPaused Reason = "stranger_paused"
	// ReasonTombstoneExpired: a conclude for a legacy cycle our responder
	// gave up came after the cycle's tombstone lapsed (tombstone.go).
	ReasonTombstoneExpired Reason = "tombstone_expired"
)

// reasons is every Reason, in declaration order.
var reasons = []Reason{
	ReasonWrongState, ReasonMissingField, ReasonEchoMismatch, ReasonReplay, ReasonRefMismatch,
	ReasonHSMissing, ReasonHSInvalid, ReasonSecInvalid, ReasonPlaintext, ReasonSecWithoutKey,
	ReasonSlotWaitExpired, ReasonBindMissing, ReasonBindInvalid, ReasonBindMismatch,
	ReasonMACMissing, ReasonMACInvalid, ReasonBootInvalid,
	ReasonStrangerFirst, ReasonStrangerSlots, ReasonStrangerPaused,
	ReasonTombstoneExpired,
}

// Reasons returns every Reason, in declaration order (the runner exports
// each as a metric label from the start).
func Reasons() []Reason { return slices.Clone(reasons) }

// Valid reports whether r is one of the reasons.
func (r Reason) Valid() bool {
	for _, v := range reasons {
		if r == v {
			return true
		}
	}
	return false
}
