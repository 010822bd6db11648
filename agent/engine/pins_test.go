package engine

import (
	"bufio"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// The engine sizes the TOFU pin map from MaxPeers: a flood of pinned IDs
// keeps at most MaxPeers pins, the most recent ones.
func TestEngineBoundsTOFUPinsByMaxPeers(t *testing.T) {
	id := mustIdentity(t, "self")
	policy := trust.NewPolicy(trust.TOFU, nil)
	if _, err := New(Config{Identity: id, Policy: policy, MaxPeers: 3, Store: &countingStore{}, Transport: chanTransport{}}); err != nil {
		t.Fatal(err)
	}
	pub, other := mustIdentity(t, "peer").SignPub(), mustIdentity(t, "other").SignPub()
	for i := range 5 {
		if err := policy.Pin(fmt.Sprintf("peer-%d", i), pub); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		err := policy.Check(fmt.Sprintf("peer-%d", i), other, nil)
		if pinned := errors.Is(err, trust.ErrKeyChanged); pinned != (i >= 2) {
			t.Errorf("peer-%d pinned = %v (check %v); want only the 3 most recent pinned", i, pinned, err)
		}
	}
}

// A stranger's pin goes with its collected row: invented IDs that verified
// an hs leave no pin behind once their conversations are evicted.
func TestFleetCollectedStrangerLosesItsPin(t *testing.T) {
	const stateTimeout = 100 * time.Millisecond
	f := newFleet(t, fleetOptions{mode: trust.TOFU, stateTimeout: stateTimeout, retryInterval: time.Minute})
	ids := f.newIdentities(1)
	policy := f.policy()
	b := f.start(ids[0], policy)
	pw := &peerWire{t: t, conn: f.rawClient()}
	pw.r = bufio.NewReaderSize(pw.conn, 128<<10)
	if pw.read(5*time.Second, func(m map[string]any) bool { return m["from"] == ids[0].ID }) == nil {
		t.Fatal("agent never announced itself")
	}
	const spoofed = 3
	pub, other := mustIdentity(t, "peer").SignPub(), mustIdentity(t, "other").SignPub()
	for i := range spoofed {
		id := fmt.Sprintf("pinned-%d", i)
		if err := policy.Pin(id, pub); err != nil {
			t.Fatal(err)
		}
		pw.send(register(id))
	}
	m := b.eng.Metrics()
	collected := m.RowsCollected.WithLabelValues(string(protocol.Responder))
	// Timeout plus idle eviction, then the row deletion; bounded at 10 s.
	for i := 0; metricValue(collected) < spoofed; i++ {
		if i == 1000 {
			t.Fatalf("unused rows deleted %v, want %d", metricValue(collected), spoofed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range spoofed {
		id := fmt.Sprintf("pinned-%d", i)
		if err := policy.Check(id, other, nil); err != nil {
			t.Errorf("%s: pin kept after its row was collected (check %v)", id, err)
		}
	}
}
