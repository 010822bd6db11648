package protocol

import (
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// A boot proof verifies only for its signer's bundle key, and only its
// own bytes: a forged or edited proof is rejected.
func TestBootProofVerify(t *testing.T) {
	a := mustIdentity(t, "a")
	b := mustIdentity(t, "b")
	policy := trust.NewPolicy(trust.Fleet, trust.Bundle{a.ID: a.SignPub(), b.ID: b.SignPub()})
	start := time.Now()
	proof, err := BootProof(a.ID, a.SignPriv, start)
	if err != nil {
		t.Fatal(err)
	}
	at, err := VerifyBootProof(proof, a.ID, "", policy)
	if err != nil || !at.Equal(start.UTC()) {
		t.Fatalf("genuine proof: %v, %v", at, err)
	}
	if _, err := VerifyBootProof(proof, b.ID, "", policy); err == nil {
		t.Fatal("a's proof accepted as b's")
	}
	forged, _ := BootProof(a.ID, b.SignPriv, start) // b signs as a
	if _, err := VerifyBootProof(forged, a.ID, "", policy); err == nil {
		t.Fatal("proof signed by another key accepted")
	}
	forged["sign_pub"] = b64(a.SignPub())
	if _, err := VerifyBootProof(forged, a.ID, "", policy); err == nil {
		t.Fatal("proof with a's key but b's signature accepted")
	}
	edited := map[string]any{"ts": start.Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"sign_pub": proof["sign_pub"], "sig": proof["sig"]}
	if _, err := VerifyBootProof(edited, a.ID, "", policy); err == nil {
		t.Fatal("proof with an edited ts accepted")
	}
	tofu := trust.NewPolicy(trust.TOFU, nil)
	if _, err := VerifyBootProof(proof, a.ID, "", tofu); err == nil {
		t.Fatal("tofu accepted a proof with no pinned key")
	}
	if _, err := VerifyBootProof(proof, a.ID, b64(a.SignPub()), tofu); err != nil {
		t.Fatalf("tofu with the right pin: %v", err)
	}
	for _, bad := range []any{nil, "x", map[string]any{}, map[string]any{"ts": 5}} {
		if _, err := VerifyBootProof(bad, a.ID, "", policy); err == nil {
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

	newer, _ := BootProof(ini.ID, ini.SignPriv, env.now)
	res, err := m.OnMessage(row, mem, register(newer), env)
	if err != nil || res.Ignored != "" || res.Row.State != StateRespConfirm || res.Restart != RestartPeerBoot {
		t.Fatalf("newer proof: state %s ignored %q restart %q err %v", res.Row.State, res.Ignored, res.Restart, err)
	}
	if len(res.Out) != 1 || res.Out[0].Intent != IntentConfirm || res.Out[0].HSType != "response" {
		t.Fatalf("newer proof sent %+v, want one confirm with hs", res.Out)
	}

	older, _ := BootProof(ini.ID, ini.SignPriv, cycleStart.Add(-time.Minute))
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

	forged, _ := BootProof(ini.ID, resp.SignPriv, env.now)
	forged["sign_pub"] = b64(ini.SignPub())
	res, _ = m.OnMessage(row, mem, register(forged), env)
	if res.Row.State != StateRespExchange || res.Ignored != ReasonBootInvalid || !res.Rejected {
		t.Fatalf("forged proof: state %s ignored %q", res.Row.State, res.Ignored)
	}

	future, _ := BootProof(ini.ID, ini.SignPriv, env.now.Add(time.Hour))
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
