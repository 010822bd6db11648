package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
)

func TestFleetEveryDirectedPairCyclesWithSealedMessages(t *testing.T) {
	f := newFleet(t, fleetOptions{})
	ids := f.newIdentities(3)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 3, 20*time.Second)

	ctx := context.Background()
	for _, a := range agents {
		for _, b := range ids {
			if a.id == b {
				continue
			}
			for _, role := range []store.Role{store.Initiator, store.Responder} {
				rs, err := f.st.GetOrCreate(ctx, store.Key{SelfID: a.id.ID, Role: role, PeerID: b.ID}, "x")
				if err != nil {
					t.Fatal(err)
				}
				if rs.LastSecureAt == nil || rs.PeerSignPub == nil || rs.Cycles < 3 {
					t.Fatalf("%s %s with %s: last_secure_at %v, peer_sign_pub %v, cycles %d",
						a.id.ID[:8], role, b.ID[:8], rs.LastSecureAt, rs.PeerSignPub, rs.Cycles)
				}
			}
		}
		// Each agent opened envelopes as both initiator and responder:
		// 3 cycles x 2 peers x 2 roles x 4 messages at least.
		if got := a.logs.count("opened message"); got < 3*2*2*4 {
			t.Fatalf("agent %s opened %d envelopes, want >= 48", a.id.ID[:8], got)
		}
		if got := metricValue(a.eng.Metrics().Handshakes.WithLabelValues("failed", "key_mismatch")); got != 0 {
			t.Fatalf("unexpected hs failures: %v", got)
		}
		if a.logs.count("CLOSE SUCCESS") < 6 {
			t.Fatalf("CLOSE SUCCESS logged %d times", a.logs.count("CLOSE SUCCESS"))
		}
	}
}

// captureLines reads relayed lines from c and returns the content of the
// first n whose payload matches keep, as raw client lines.
func captureLines(t *testing.T, c interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}, n int, keep func(map[string]any) bool) [][]byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var out [][]byte
	var buf []byte
	chunk := make([]byte, 64<<10)
	for len(out) < n {
		k, err := c.Read(chunk)
		if err != nil {
			t.Fatalf("sniffing: %v (captured %d)", err, len(out))
		}
		buf = append(buf, chunk[:k]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := buf[:i]
			buf = buf[i+1:]
			var wrapper struct {
				Content string `json:"content"`
			}
			var env struct {
				Payload map[string]any `json:"_payload"`
			}
			if json.Unmarshal(line, &wrapper) != nil || json.Unmarshal([]byte(wrapper.Content), &env) != nil {
				continue
			}
			if keep(env.Payload) && len(out) < n {
				out = append(out, []byte(wrapper.Content))
			}
		}
	}
	return out
}

func TestFleetForgedHandshake(t *testing.T) {
	tests := []struct {
		name       string
		mode       trust.Mode
		wantCycles bool
	}{
		{"fleet mode rejects an hs whose sign_pub is not the bundle's", trust.Fleet, false},
		{"open mode accepts it", trust.Open, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, fleetOptions{mode: tc.mode})
			ids := f.newIdentities(2)
			honest, claimed := ids[0], ids[1]
			// The forger uses claimed's ID (which is in the bundle) with
			// keys of its own.
			forger := mustIdentity(t, "forger")
			forger.ID = claimed.ID
			b := f.start(honest, f.policy())
			f.start(forger, trust.NewPolicy(trust.Open, nil))
			deadline := time.Now().Add(8 * time.Second)
			for {
				okCycles := f.pairCycles(claimed.ID, honest.ID) > 0
				failed := metricValue(b.eng.Metrics().Handshakes.WithLabelValues("failed", "key_mismatch"))
				if tc.wantCycles && okCycles {
					break
				}
				if !tc.wantCycles && failed >= 2 {
					if okCycles || f.pairCycles(honest.ID, claimed.ID) > 0 {
						t.Fatal("a cycle completed with a forged hs in fleet mode")
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no outcome: cycles %d, key_mismatch failures %v", f.pairCycles(claimed.ID, honest.ID), failed)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestFleetRestartedAgentResumesWithItsPeers(t *testing.T) {
	f := newFleet(t, fleetOptions{stateTimeout: 700 * time.Millisecond})
	ids := f.newIdentities(3)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 1, 15*time.Second)
	agents[2].stop() // killed, most likely mid-cycle
	time.Sleep(100 * time.Millisecond)
	base := f.snapshot()
	f.start(ids[2], f.policy())
	f.waitPairs(ids, base, 2, 15*time.Second)
}

func TestFleetRecoversFromRelayRestartMidCycle(t *testing.T) {
	f := newFleet(t, fleetOptions{stateTimeout: 700 * time.Millisecond, logSent: true})
	ids := f.newIdentities(3)
	for _, id := range ids {
		f.start(id, f.policy())
	}
	f.waitPairs(ids, nil, 1, 15*time.Second)
	addr := f.relayAddr
	f.stopRelay()
	time.Sleep(150 * time.Millisecond)
	f.startRelay(addr)
	base := f.snapshot()
	f.waitPairs(ids, base, 2, 15*time.Second)
}

func TestFleetSilentPeerTimesOutAndPairRecoversWhenItReturns(t *testing.T) {
	f := newFleet(t, fleetOptions{stateTimeout: 500 * time.Millisecond})
	ids := f.newIdentities(2)
	a := f.start(ids[0], f.policy())
	b := f.start(ids[1], f.policy())
	f.waitPairs(ids, nil, 1, 10*time.Second)
	b.stop() // silent in mid-exchange (cycles run back to back)
	timeouts := func() float64 {
		var n float64
		for _, s := range []protocol.State{protocol.StateInitExchange, protocol.StateInitPropose, protocol.StateInitReady, protocol.StateRespConfirm, protocol.StateRespExchange, protocol.StateRespFinalize, protocol.StateRespReady} {
			n += metricValue(a.eng.Metrics().Timeouts.WithLabelValues(string(s)))
		}
		return n
	}
	// Every conversation with the silent peer times out back to its ready
	// state; only the initiator may still wait, reconnecting with the
	// references it keeps (a Python responder answers nothing else).
	state := func(role store.Role) protocol.Row {
		rs, err := f.st.Get(context.Background(), store.Key{SelfID: ids[0].ID, Role: role, PeerID: ids[1].ID})
		if err != nil {
			t.Fatal(err)
		}
		return rowFromStore(rs)
	}
	idle := func() bool {
		ini, resp := state(store.Initiator), state(store.Responder)
		waiting := 0.0
		if protocol.WaitsForPeer(ini) {
			waiting = 1
		}
		return ini.State == protocol.StateInitReady && resp.State == protocol.StateRespReady &&
			metricValue(a.eng.Metrics().Active) == waiting
	}
	deadline := time.Now().Add(5 * time.Second)
	for timeouts() < 1 || !idle() {
		if time.Now().After(deadline) {
			t.Fatalf("peer silent for 5s: %v state timeouts, initiator %+v, responder %+v, %v conversations waiting",
				timeouts(), state(store.Initiator), state(store.Responder), metricValue(a.eng.Metrics().Active))
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := f.snapshot()
	f.start(ids[1], f.policy())
	f.waitPairs(ids, base, 2, 10*time.Second)
}

func TestFleetHostileLinesDoNothing(t *testing.T) {
	// The relay relays lines up to 256 KiB here, so the 70 KB line reaches
	// the agents (the Rust relay has no limit either).
	f := newFleet(t, fleetOptions{relayMaxLine: 256 << 10})
	ids := f.newIdentities(2)
	var agents []*testAgent
	for _, id := range ids {
		agents = append(agents, f.start(id, f.policy()))
	}
	f.waitPairs(ids, nil, 1, 10*time.Second)
	raw := f.rawClient()
	long := `{"to":null,"intent":"register","from":"x","pad":"` + strings.Repeat("A", 70_000) + `"}`
	for _, line := range []string{"from to intent", long, `{"from":1,"to":2,"intent":3}`, "\xff\xfe"} {
		if _, err := raw.Write([]byte(line + "\n")); err != nil && !strings.Contains(line, "\xff") {
			t.Fatal(err)
		}
	}
	// The 70 KB line is refused as too long; "from to intent" is dropped
	// unparsed (it names no agent) or as text.
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range agents {
		m := a.eng.Metrics().RejectedLines
		for metricValue(m.WithLabelValues("too_long")) < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("70 KB line not counted as too long: %v", metricValue(m.WithLabelValues("too_long")))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	base := f.snapshot()
	f.waitPairs(ids, base, 2, 10*time.Second)
}

func TestFleetCycleIntervalSpacesAPairsCycles(t *testing.T) {
	const every = 300 * time.Millisecond
	f := newFleet(t, fleetOptions{cycleEvery: every})
	ids := f.newIdentities(2)
	for _, id := range ids {
		f.start(id, f.policy())
	}
	f.waitPairs(ids, nil, 3, 10*time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	// Each conversation is paced on its own: an agent's initiator and
	// responder with the same peer cycle independently of each other.
	last := map[string]time.Time{}
	for _, ev := range f.events {
		conv := ev.SelfID + "/" + string(ev.Role) + "/" + ev.PeerID
		if prev, ok := last[conv]; ok && ev.Completed.Sub(prev) < every {
			t.Fatalf("cycles of %s %s with %s only %s apart, want >= %s",
				ev.SelfID[:8], ev.Role, ev.PeerID[:8], ev.Completed.Sub(prev), every)
		}
		last[conv] = ev.Completed
	}
}
