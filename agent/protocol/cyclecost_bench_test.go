package protocol

import (
	"testing"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// BenchmarkMachineCycle is the CPU cost of one secure fleet-mode cycle in
// the protocol machine alone (no database, no relay): both sides' hs,
// envelopes and, between binding peers, bind signatures, hsf headers and
// finalize MACs. One op is one cycle counted by the responder. Compare
// with BenchmarkFleet, where the database dominates.
func BenchmarkMachineCycle(b *testing.B) {
	t := &testing.T{}
	a, c := mustIdentity(b, "a"), mustIdentity(b, "b")
	bundle := trust.Bundle{a.ID: a.SignPub(), c.ID: c.SignPub()}
	policy := trust.NewPolicy(trust.Fleet, bundle)
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	l := &link{ini: newSide(b, a, c.ID, Initiator, m, policy), resp: newSide(b, c, a.ID, Responder, m, policy)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		l.runCycles(t, i)
	}
}
