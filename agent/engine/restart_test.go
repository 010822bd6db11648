package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// A restarted agent's pairs cycle again without waiting for a state
// timeout (the restart stall of docs/engine-scale.md): the restarted
// responder starts a new cycle when the peer's register shows a boot
// proof, and the peers' responders give up their cycles with the old
// process on the restarted agent's boot proof. The state timeout is 30 s,
// so any pair that waited for it would still be lagging when the test
// requires two new cycles of every pair (25 s bound); the assertion that
// matters is that no agent recovered anything by the state timeout.
func TestRestartMidCycleResumesWithoutStateTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps bool // bundle entries carry bind1 (RequiresBind)
	}{{"plain bundle", false}, {"bind1 bundle", true}} {
		t.Run(tc.name, func(t *testing.T) {
			testRestartMidCycle(t, tc.caps)
		})
	}
}

func testRestartMidCycle(t *testing.T, caps bool) {
	const stateTimeout = 30 * time.Second
	f := newFleet(t, fleetOptions{stateTimeout: stateTimeout})
	ids := f.newIdentities(3)
	policy := func() *trust.Policy {
		p := f.policy()
		if caps {
			c := trust.Caps{}
			for _, id := range ids {
				c[id.ID] = []trust.Cap{trust.CapBind1}
			}
			p.SetBundleCaps(p.Bundle(), c)
		}
		return p
	}
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, policy()))
	}
	f.waitPairs(ids, nil, 2, 20*time.Second)

	victim := ids[2]
	var restarted *testAgent
	mid := 0
	for attempt := 0; attempt < 5 && mid == 0; attempt++ {
		agents[2].stop()
		mid = midCycleRows(t, f.st, victim.ID)
		agents[2] = f.start(victim, policy())
		restarted = agents[2]
		if mid == 0 {
			// Stopped between cycles everywhere: nothing to test yet.
			f.waitPairs(ids, f.snapshot(), 1, 20*time.Second)
		}
	}
	if mid == 0 {
		t.Skip("the agent never stopped mid-cycle")
	}
	t.Logf("stopped with %d rows mid-cycle", mid)
	f.waitPairs(ids, f.snapshot(), 2, 25*time.Second)

	for _, a := range agents {
		if n := sumTimeouts(a.eng); n != 0 {
			t.Errorf("agent %s recovered %v conversations by the state timeout", a.id.ID[:8], n)
		}
	}
	restarts := 0.0
	for _, a := range agents {
		for _, role := range []protocol.Role{protocol.Initiator, protocol.Responder} {
			for _, cause := range []string{protocol.RestartPeerBoot, protocol.RestartPeerConfirm, protocol.RestartOwnBoot} {
				restarts += metricValue(a.eng.Metrics().CyclesRestarted.WithLabelValues(string(role), cause))
			}
		}
	}
	if restarts == 0 {
		t.Errorf("no cycle was restarted, though %d rows were left mid-cycle", mid)
	}
	if got := metricValue(restarted.eng.Metrics().Ignored.WithLabelValues(string(protocol.ReasonBootInvalid))); got != 0 {
		t.Errorf("%v genuine boot proofs rejected", got)
	}
}

// midCycleRows counts self's rows that wait for a peer.
func midCycleRows(t *testing.T, st *store.Store, self string) int {
	t.Helper()
	rows, err := st.List(context.Background(), self)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if row := rowFromStore(r); protocol.WaitsForPeer(row) && row.State != protocol.StateInitReady && row.State != protocol.StateRespReady {
			n++
		}
	}
	return n
}

func sumTimeouts(e *Engine) float64 {
	n := 0.0
	for _, s := range []protocol.State{protocol.StateInitReady, protocol.StateInitExchange, protocol.StateInitPropose, protocol.StateInitClose, protocol.StateRespReady, protocol.StateRespConfirm, protocol.StateRespExchange, protocol.StateRespFinalize} {
		n += metricValue(e.Metrics().Timeouts.WithLabelValues(string(s)))
	}
	return n
}

// Every agent restarting at once (a rolled Deployment, a changed database
// Secret) must not wait for a state timeout either: each peer booted just
// before the others loaded their rows, so a responder that dated its
// inherited cycle at the load ignored every boot proof (e2e: 10 s of
// resp_ready timeouts after the roll). The state timeout is 30 s and the
// bound 25 s, as in the single-restart test.
func TestSimultaneousRestartResumesWithoutStateTimeout(t *testing.T) {
	const stateTimeout = 30 * time.Second
	f := newFleet(t, fleetOptions{stateTimeout: stateTimeout})
	ids := f.newIdentities(3)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 2, 20*time.Second)

	// Pods of a roll stop a moment apart: the ones still running move
	// on, so the rows the new processes load disagree between the sides.
	for _, a := range agents {
		a.stop()
		time.Sleep(150 * time.Millisecond)
	}
	for i, id := range ids {
		agents[i] = f.start(id, f.policy())
	}
	f.waitPairs(ids, f.snapshot(), 2, 25*time.Second)
	for _, a := range agents {
		if n := sumTimeouts(a.eng); n != 0 {
			t.Errorf("agent %s recovered %v conversations by the state timeout", a.id.ID[:8], n)
		}
	}
}

func TestLoadedSaveTime(t *testing.T) {
	now := time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)
	saved := now.Add(-3 * time.Second)
	for _, tc := range []struct {
		name  string
		saved time.Time
		want  time.Time
	}{
		{"last save", saved, saved},
		{"never saved", time.Time{}, now},
		{"saved in our future", now.Add(time.Second), now},
	} {
		if got := loadedSaveTime(tc.saved, now); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A restarted initiator whose row holds a legacy peer's reference sends
// reconnect at once, with no message from the peer: a Python responder
// holding our reference sends nothing our initiator would receive, and
// answers nothing but that reconnect.
func TestRestartResumesAReconnectWithoutThePeer(t *testing.T) {
	ctx := context.Background()
	st := pgStore(t)
	tr := &captureTransport{}
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: tr,
		Policy: trust.NewPolicy(trust.Open, nil), StateTimeout: time.Minute, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const peer, peerRef = "peer-b", "1234567890"
	k := store.Key{SelfID: e.self, Role: store.Initiator, PeerID: peer}
	rs, err := st.GetOrCreate(ctx, k, string(protocol.StateInitReady))
	if err != nil {
		t.Fatal(err)
	}
	rs.PeerReference, rs.LocalReference, rs.Cycles = ref(peerRef), ref("0987654321"), 3
	if _, err := st.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var reconnect map[string]any
	for i := 0; reconnect == nil; i++ { // bounded: 10 s
		if i == 1000 {
			t.Fatal("no reconnect after the restart")
		}
		time.Sleep(10 * time.Millisecond)
		reconnect = tr.first(protocol.IntentReconnect)
	}
	if reconnect["to"] != peer || reconnect["your_ref"] != peerRef {
		t.Fatalf("reconnect %v, want to %s with your_ref %s", reconnect, peer, peerRef)
	}
}
