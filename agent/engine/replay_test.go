package engine

import (
	"bufio"
	"context"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/wire"
)

// peerWire is a protocol peer played by the test over a raw relay
// connection: it reads what an engine sends it and writes payloads back.
type peerWire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	self string
}

func (p *peerWire) send(payload map[string]any) {
	p.t.Helper()
	line, err := wire.Encode(payload)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.Write(line); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next payload addressed to us with the intent given (""
// for any), or nil when none arrives within wait.
func (p *peerWire) next(intent protocol.Intent, wait time.Duration) map[string]any {
	return p.read(wait, func(m map[string]any) bool {
		return m["to"] == p.self && (intent == "" || m["intent"] == string(intent))
	})
}

// read returns the next payload that keep accepts, or nil after wait.
func (p *peerWire) read(wait time.Duration, keep func(map[string]any) bool) map[string]any {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(wait))
	defer p.conn.SetReadDeadline(time.Time{})
	for range 1000 { // bounded; each iteration consumes a line
		line, err := p.r.ReadBytes('\n')
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return nil
			}
			p.t.Fatalf("reading relay: %v", err)
		}
		in, err := wire.Decode(line, wire.Limits{})
		if err != nil || in.Kind != wire.KindMessage || !keep(in.Payload) {
			continue
		}
		return in.Payload
	}
	p.t.Fatal("no directed line among 1000")
	return nil
}

// A request replayed into resp_exchange, with its echo set to the nonce
// the responder currently expects (the echo is not signed), is refused by
// the replay rule: the row stays as it was and nothing is sent back. The
// cycle then completes as usual.
func TestFleetReplayedRequestIsIgnored(t *testing.T) {
	f := newFleet(t, fleetOptions{retryInterval: time.Minute, stateTimeout: time.Minute})
	ids := f.newIdentities(2)
	ini, resp := ids[0], ids[1]
	b := f.start(resp, f.policy())
	pw := &peerWire{t: t, conn: f.rawClient(), self: ini.ID}
	pw.r = bufio.NewReaderSize(pw.conn, 128<<10)
	a := protocol.NewPeer(ini, resp.ID, protocol.Initiator, protocol.Machine{Policy: protocol.Policy{Strict: true, RequireSealed: true}}, f.policy())

	// b's own register shows its relay connection is up.
	if pw.read(5*time.Second, func(m map[string]any) bool { return m["from"] == resp.ID }) == nil {
		t.Fatal("responder never announced itself")
	}
	pw.send(register(ini.ID))
	confirm := pw.next(protocol.IntentConfirm, 5*time.Second)
	if confirm == nil {
		t.Fatal("no confirm for our register")
	}
	_, out, err := a.Receive(confirm)
	if err != nil {
		t.Fatal(err)
	}
	request := out[0]
	pw.send(request)
	respond := pw.next(protocol.IntentRespond, 5*time.Second)
	if respond == nil {
		t.Fatalf("got %v, want respond", respond)
	}

	k := store.Key{SelfID: resp.ID, Role: store.Responder, PeerID: ini.ID}
	before, err := f.st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if before.State != string(protocol.StateRespExchange) || deref(before.LocalNonce) != respond["my_nonce"] {
		t.Fatalf("responder in %s with nonce %v; want resp_exchange expecting %v", before.State, deref(before.LocalNonce), respond["my_nonce"])
	}
	ignored := func(reason protocol.Reason) float64 {
		return metricValue(b.eng.Metrics().Ignored.WithLabelValues(string(reason)))
	}
	replays, mismatches := ignored(protocol.ReasonReplay), ignored(protocol.ReasonEchoMismatch)
	replay := maps.Clone(request)
	replay["your_nonce"] = respond["my_nonce"]
	pw.send(replay)
	for i := 0; ignored(protocol.ReasonReplay) == replays; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("replayed request not refused as a replay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := ignored(protocol.ReasonEchoMismatch) - mismatches; got != 0 {
		t.Fatalf("%v echo mismatches; the replay must reach the replay rule", got)
	}
	// A re-send of the respond we have is no answer; an accepted replay
	// would rotate the responder's nonce.
	if reply := pw.read(300*time.Millisecond, func(m map[string]any) bool {
		return m["to"] == ini.ID && m["my_nonce"] != respond["my_nonce"]
	}); reply != nil {
		t.Fatalf("responder answered the replay: %s your %v my %v (respond was your %v my %v)", reply["intent"], reply["your_nonce"], reply["my_nonce"], respond["your_nonce"], respond["my_nonce"])
	}
	after, err := f.st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.State != before.State || deref(after.LocalNonce) != deref(before.LocalNonce) {
		t.Fatalf("replay changed the row: v%d %s -> v%d %s", before.Version, before.State, after.Version, after.State)
	}

	// The genuine cycle goes on to its end.
	for i := 0; f.pairCycles(ini.ID, resp.ID) == 0; i++ {
		if i == 20 {
			t.Fatal("cycle did not complete after the replay")
		}
		_, out, err := a.Receive(respond)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out {
			pw.send(p)
		}
		if respond = pw.next("", 2*time.Second); respond == nil {
			if f.pairCycles(ini.ID, resp.ID) > 0 {
				break
			}
			t.Fatalf("responder went silent in %s", a.Row.State)
		}
	}
}
