package engine

import (
	"context"
	"testing"
	"time"

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
		for _, role := range []Role{Initiator, Responder} {
			for _, cause := range []string{RestartPeerBoot, RestartPeerConfirm, RestartOwnBoot} {
				restarts += metricValue(a.eng.Metrics().CyclesRestarted.WithLabelValues(string(role), cause))
			}
		}
	}
	if restarts == 0 {
		t.Errorf("no cycle was restarted, though %d rows were left mid-cycle", mid)
	}
	if got := metricValue(restarted.eng.Metrics().Ignored.WithLabelValues(string(ReasonBootInvalid))); got != 0 {
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
		if row := rowFromStore(r); WaitsForPeer(row) && row.State != StateInitReady && row.State != StateRespReady {
			n++
		}
	}
	return n
}

func sumTimeouts(e *Engine) float64 {
	n := 0.0
	for _, s := range []State{StateInitReady, StateInitExchange, StateInitPropose, StateInitClose,
		StateRespReady, StateRespConfirm, StateRespExchange, StateRespFinalize} {
		n += metricValue(e.Metrics().Timeouts.WithLabelValues(string(s)))
	}
	return n
}

// A boot proof verifies only for its signer's bundle key, and only its
// own bytes: a forged or edited proof is rejected.
func TestBootProofVerify(t *testing.T) {
	a := mustIdentity(t, "a")
	b := mustIdentity(t, "b")
	policy := trust.NewPolicy(trust.Fleet, trust.Bundle{a.ID: a.SignPub(), b.ID: b.SignPub()})
	start := time.Now()
	proof, err := bootProof(a.ID, a.SignPriv, start)
	if err != nil {
		t.Fatal(err)
	}
	at, err := verifyBootProof(proof, a.ID, "", policy)
	if err != nil || !at.Equal(start.UTC()) {
		t.Fatalf("genuine proof: %v, %v", at, err)
	}
	if _, err := verifyBootProof(proof, b.ID, "", policy); err == nil {
		t.Fatal("a's proof accepted as b's")
	}
	forged, _ := bootProof(a.ID, b.SignPriv, start) // b signs as a
	if _, err := verifyBootProof(forged, a.ID, "", policy); err == nil {
		t.Fatal("proof signed by another key accepted")
	}
	forged["sign_pub"] = b64(a.SignPub())
	if _, err := verifyBootProof(forged, a.ID, "", policy); err == nil {
		t.Fatal("proof with a's key but b's signature accepted")
	}
	edited := map[string]any{"ts": start.Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"sign_pub": proof["sign_pub"], "sig": proof["sig"]}
	if _, err := verifyBootProof(edited, a.ID, "", policy); err == nil {
		t.Fatal("proof with an edited ts accepted")
	}
	tofu := trust.NewPolicy(trust.TOFU, nil)
	if _, err := verifyBootProof(proof, a.ID, "", tofu); err == nil {
		t.Fatal("tofu accepted a proof with no pinned key")
	}
	if _, err := verifyBootProof(proof, a.ID, b64(a.SignPub()), tofu); err != nil {
		t.Fatalf("tofu with the right pin: %v", err)
	}
	for _, bad := range []any{nil, "x", map[string]any{}, map[string]any{"ts": 5}} {
		if _, err := verifyBootProof(bad, a.ID, "", policy); err == nil {
			t.Fatalf("malformed proof %v accepted", bad)
		}
	}
}

// The machine rule: a verified boot proof newer than the responder's
// cycle starts a new one; an older one (the periodic register of a peer
// that did not restart), a forged one and any proof in open mode do not.
func TestBootProofRestartsResponderCycle(t *testing.T) {
	ini := mustIdentity(t, "ini")
	resp := mustIdentity(t, "resp")
	policy := trust.NewPolicy(trust.Fleet, trust.Bundle{ini.ID: ini.SignPub(), resp.ID: resp.SignPub()})
	m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
	env := newMemEnv(ini.ID, policy)
	env.self = resp.ID
	cycleStart := env.now.Add(-time.Second)
	row := Row{State: StateRespExchange, PeerNonce: "11111111111111111111111111111111"}
	mem := Mem{CycleStart: cycleStart}
	register := func(proof map[string]any) Msg {
		return Msg{Intent: IntentRegister, From: ini.ID, Boot: proof}
	}

	newer, _ := bootProof(ini.ID, ini.SignPriv, env.now)
	res, err := m.OnMessage(row, mem, register(newer), env)
	if err != nil || res.Ignored != "" || res.Row.State != StateRespConfirm || res.Restart != RestartPeerBoot {
		t.Fatalf("newer proof: state %s ignored %q restart %q err %v", res.Row.State, res.Ignored, res.Restart, err)
	}
	if len(res.Out) != 1 || res.Out[0].Intent != IntentConfirm || res.Out[0].HSType != "response" {
		t.Fatalf("newer proof sent %+v, want one confirm with hs", res.Out)
	}

	older, _ := bootProof(ini.ID, ini.SignPriv, cycleStart.Add(-time.Minute))
	res, _ = m.OnMessage(row, mem, register(older), env)
	if res.Row.State != StateRespExchange || res.Restart != "" {
		t.Fatalf("older proof moved the cycle to %s", res.Row.State)
	}
	// The same older proof ends a cycle our own previous process left.
	inherited := mem
	inherited.Inherited = true
	res, _ = m.OnMessage(row, inherited, register(older), env)
	if res.Row.State != StateRespConfirm {
		t.Fatalf("older proof on an inherited cycle: state %s", res.Row.State)
	}

	forged, _ := bootProof(ini.ID, resp.SignPriv, env.now)
	forged["sign_pub"] = b64(ini.SignPub())
	res, _ = m.OnMessage(row, mem, register(forged), env)
	if res.Row.State != StateRespExchange || res.Ignored != ReasonBootInvalid || !res.Rejected {
		t.Fatalf("forged proof: state %s ignored %q", res.Row.State, res.Ignored)
	}

	future, _ := bootProof(ini.ID, ini.SignPriv, env.now.Add(time.Hour))
	res, _ = m.OnMessage(row, mem, register(future), env)
	if res.Row.State != StateRespExchange {
		t.Fatalf("a proof from the future moved the cycle to %s", res.Row.State)
	}

	open := Machine{}
	res, _ = open.OnMessage(row, mem, register(newer), env)
	if res.Row.State != StateRespExchange {
		t.Fatalf("open mode: state %s", res.Row.State)
	}

	ready := Row{State: StateRespReady, LocalRef: "ref", PeerRef: "pref"}
	res, _ = m.OnMessage(ready, mem, register(newer), env)
	if res.Row.State != StateRespConfirm || res.Restart != RestartPeerBoot {
		t.Fatalf("resp_ready with a reference: state %s", res.Row.State)
	}
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
