package engine

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
)

// A confirm sniffed in one cycle and replayed into the next (well inside
// the hs TTL) must not verify: its hs nonce stays logged after the cycle
// ends. Before the hs log outlived the cycle, restartOnConfirm took the
// replay for a responder restart and abandoned the live cycle.
func TestFleetConfirmReplayedIntoNextCycleIsRejected(t *testing.T) {
	f := newFleet(t, fleetOptions{retryInterval: time.Minute, stateTimeout: time.Minute})
	ids := f.newIdentities(2)
	ini, resp := ids[0], ids[1]
	b := f.start(ini, f.policy())
	pw := &peerWire{t: t, conn: f.rawClient(), self: resp.ID}
	pw.r = bufio.NewReaderSize(pw.conn, 128<<10)
	r := protocol.NewPeer(resp, ini.ID, protocol.Responder, protocol.Machine{Policy: protocol.Policy{Strict: true, RequireSealed: true}}, f.policy())

	fromB := func(m map[string]any) bool {
		return m["from"] == ini.ID && (m["to"] == resp.ID || (m["to"] == nil && m["intent"] == string(protocol.IntentRegister)))
	}
	var firstConfirm, liveConfirm map[string]any
	// pump relays b's messages through r until stop says so; bounded.
	pump := func(stop func(out []map[string]any) bool) {
		t.Helper()
		for range 200 {
			m := pw.read(5*time.Second, fromB)
			if m == nil {
				t.Fatalf("initiator went silent (responder side in %s)", r.Row.State)
			}
			_, out, err := r.Receive(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range out {
				if p["intent"] == string(protocol.IntentConfirm) && firstConfirm == nil {
					firstConfirm = p
				}
				pw.send(p)
			}
			if stop(out) {
				return
			}
		}
		t.Fatal("no end after 200 messages")
	}
	pump(func([]map[string]any) bool { return r.Cycles() == 1 })
	if firstConfirm == nil {
		t.Fatal("cycle 1 completed without a confirm")
	}

	// Cycle 2 up to the initiator's first request: b is in init_exchange.
	pump(func(out []map[string]any) bool {
		for _, p := range out {
			if p["intent"] == string(protocol.IntentConfirm) {
				liveConfirm = p
			}
		}
		return liveConfirm != nil
	})
	k := store.Key{SelfID: ini.ID, Role: store.Initiator, PeerID: resp.ID}
	var before store.RoleState
	for i := 0; ; i++ { // bounded: 5 s
		var err error
		if before, err = f.st.Get(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		if before.State == string(protocol.StateInitExchange) && deref(before.PeerNonce) == liveConfirm["my_nonce"] {
			break
		}
		if i == 500 {
			t.Fatalf("initiator in %s with peer_nonce %v; want init_exchange on %v", before.State, deref(before.PeerNonce), liveConfirm["my_nonce"])
		}
		time.Sleep(10 * time.Millisecond)
	}

	replays := b.eng.Metrics().Handshakes.WithLabelValues("failed", "replay")
	base := metricValue(replays)
	pw.send(firstConfirm)
	for i := 0; metricValue(replays) == base; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("replayed confirm of cycle 1 was not rejected as an hs replay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after, err := f.st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.State != string(protocol.StateInitExchange) || deref(after.PeerNonce) != deref(before.PeerNonce) {
		t.Fatalf("replay moved the live cycle: v%d %s peer %s -> v%d %s peer %s", before.Version, before.State,
			deref(before.PeerNonce), after.Version, after.State, deref(after.PeerNonce))
	}

	// The live cycle completes undisturbed.
	pump(func([]map[string]any) bool { return r.Cycles() == 2 })
}

func TestPruneHSNoncesDropsOnlyOwnExpiredHSNonces(t *testing.T) {
	f := newFleet(t, fleetOptions{})
	ids := f.newIdentities(2)
	a := f.start(ids[0], f.policy())
	own := store.Key{SelfID: ids[0].ID, Role: store.Initiator, PeerID: ids[1].ID}
	other := store.Key{SelfID: ids[1].ID, Role: store.Responder, PeerID: ids[0].ID}
	ctx := context.Background()
	for _, flow := range []string{flowHS, protocol.FlowReceived} {
		if _, err := f.st.RecordNonceOnce(ctx, own, flow, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.RecordNonceOnce(ctx, other, flowHS, "n1"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.eng.pruneHSNonces(hsNonceRetention); err != nil || n != 0 {
		t.Fatalf("prune with the real retention deleted %d, %v; want 0 (the nonce is fresh)", n, err)
	}
	time.Sleep(20 * time.Millisecond) // ages the rows past the 10 ms retention below
	if n, err := a.eng.pruneHSNonces(10 * time.Millisecond); err != nil || n != 1 {
		t.Fatalf("prune of expired nonces deleted %d, %v; want 1 (own hs row only)", n, err)
	}
	for _, c := range []struct {
		k    store.Key
		flow string
		want bool
	}{{own, flowHS, false}, {own, protocol.FlowReceived, true}, {other, flowHS, true}} {
		if got, err := f.st.NonceExists(ctx, c.k, c.flow, "n1"); err != nil || got != c.want {
			t.Errorf("after prune, %s's %s nonce exists = %v, %v; want %v", c.k.SelfID, c.flow, got, err, c.want)
		}
	}
}
