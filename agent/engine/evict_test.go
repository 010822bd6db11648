package engine

import (
	"bufio"
	"fmt"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// Registers from invented peer IDs (open mode admits anyone) start
// responder conversations; once they stay idle, the conversations are
// dropped with their rows (no cycle counted), and a later message from
// the same ID starts over with a new row. None of them is answered:
// a stranger's first start is dropped (budget.go).
func TestFleetIdleSpoofedConversationsAreEvicted(t *testing.T) {
	const stateTimeout = 100 * time.Millisecond
	f := newFleet(t, fleetOptions{mode: trust.Open, stateTimeout: stateTimeout, retryInterval: time.Minute})
	ids := f.newIdentities(1)
	b := f.start(ids[0], f.policy())
	pw := &peerWire{t: t, conn: f.rawClient()}
	pw.r = bufio.NewReaderSize(pw.conn, 128<<10)
	if pw.read(5*time.Second, func(m map[string]any) bool { return m["from"] == ids[0].ID }) == nil {
		t.Fatal("agent never announced itself")
	}
	m := b.eng.Metrics()
	const spoofed = 5
	for i := range spoofed {
		pw.send(register(fmt.Sprintf("spoofed-%d", i)))
	}
	for i := 0; metricValue(m.Conversations) < spoofed; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatalf("%v conversations; want %d for the spoofed IDs", metricValue(m.Conversations), spoofed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	evicted := m.IdleEvicted.WithLabelValues(string(protocol.Responder))
	// Timeout (0.1 s) plus idleEvictFactor × 0.1 s; bounded at 10 s.
	for i := 0; metricValue(m.Conversations) > 0; i++ {
		if i == 1000 {
			t.Fatalf("%v conversations left, %v evicted; want all %d evicted", metricValue(m.Conversations), metricValue(evicted), spoofed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := metricValue(evicted); got != spoofed {
		t.Fatalf("evicted counter %v, want %d", got, spoofed)
	}
	// Their rows (no cycle counted) went with them. Each conversation
	// deletes its row after leaving the map (the gauge above), so wait
	// for the last deletions; bounded at 5 s.
	collected := m.RowsCollected.WithLabelValues(string(protocol.Responder))
	for i := 0; metricValue(collected) < spoofed && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := metricValue(collected); got != spoofed {
		t.Fatalf("unused rows deleted %v, want %d", got, spoofed)
	}

	// The same ID comes back: a new conversation answers from the stored
	// (idle) row with a fresh confirm.
	pw.self = "spoofed-0"
	for i := 0; pw.next(protocol.IntentConfirm, 50*time.Millisecond) != nil; i++ { // the first round's confirm
		if i == 10 {
			t.Fatal("confirms keep coming to an evicted conversation's peer")
		}
	}
	// A stranger's first start is dropped (budget.go); an honest peer
	// re-sends its register, and the second one is answered (sent well
	// within the state timeout, after which an idle stranger's
	// conversation is evicted).
	pw.send(register("spoofed-0"))
	if pw.next(protocol.IntentConfirm, 30*time.Millisecond) != nil {
		t.Fatal("a stranger's first register was answered")
	}
	pw.send(register("spoofed-0"))
	if pw.next(protocol.IntentConfirm, 5*time.Second) == nil {
		t.Fatal("no confirm for a register after the conversation was evicted")
	}
	if got := metricValue(m.Conversations); got != 1 {
		t.Fatalf("%v conversations after the peer came back, want 1", got)
	}
}
