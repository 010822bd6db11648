// Package bind holds the byte formats hsfleet agents use to bind a handshake
// cycle to its participants (docs/integrity-plan.md §2–§3): the signed hs
// transcript carried in `hs.bind`, the binding header `hsf` inside sealed
// plaintext, and the finalize MAC carried in `mac` on conclude, finish,
// close and reconnect.
//
// Everything here is a pure function: no I/O, no clock, no logging. The
// engine decides what a failure means (reject, count a Reason, fall back to
// legacy for a Python peer); errors are typed so it can branch with
// errors.Is. The Python reference ignores all three additions (it reads
// only named keys), which TestPythonReferenceIgnoresBindFields checks
// against the reference code itself.
//
// Every value sent is standard base64 with `=` padding, never a JSON
// literal, so the Python client's json.loads of every string leaves it a
// string (docs/protocol.md §1.8).
package bind
