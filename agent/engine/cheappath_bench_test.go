package engine

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/wire"
	"github.com/hsfleet/hsfleet/relay"
)

// BenchmarkHandleLine is the per-line cost every agent pays for every
// broadcast line in the fleet (relay-wrapped, as received):
//
//	other_pair: a request between two other agents (hs included), the
//	            bulk of a broadcast relay's traffic for a large fleet;
//	register:   another agent's register (to: null), parsed by everyone;
//	register_boot: the same with its boot proof (tofu and fleet mode);
//	for_us:     a request addressed to us, up to the conversation lookup.
//
//	go test -run '^$' -bench HandleLine -benchmem ./agent/engine
func BenchmarkHandleLine(b *testing.B) {
	self, other1, other2 := mustIdentity(b, "self"), mustIdentity(b, "x"), mustIdentity(b, "y")
	e, err := New(Config{Identity: self, Store: &countingStore{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Transport: chanTransport{}})
	if err != nil {
		b.Fatal(err)
	}
	hs := crypto.BuildHandshake(crypto.HandshakeInit, crypto.NewNonce(), other1.KxPriv, other1.SignPriv, time.Now())
	hsPayload := wire.Payload{"type": hs.Type, "nonce": hs.Nonce, "kx_pub": hs.KxPub, "sign_pub": hs.SignPub,
		"timestamp": hs.Timestamp, "sig": hs.Sig}
	wrap := func(p wire.Payload) []byte {
		line, err := wire.Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		w, err := relay.AppendWrapped(nil, "127.0.0.1:40000", line)
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	boot, err := protocol.BootProof(other1.ID, other1.SignPriv, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	request := func(from, to string) wire.Payload {
		return wire.Payload{"intent": string(protocol.IntentRequest), "from": from, "to": to, "my_nonce": crypto.NewNonce(),
			"your_nonce": crypto.NewNonce(), "message": protocol.InitiatorText, "hs": hsPayload}
	}
	for _, tc := range []struct {
		name string
		line []byte
	}{
		{"other_pair", wrap(request(other1.ID, other2.ID))},
		{"register", wrap(wire.Payload{"intent": string(protocol.IntentRegister), "from": other1.ID, "to": nil})},
		{"register_boot", wrap(wire.Payload{"intent": string(protocol.IntentRegister), "from": other1.ID, "to": nil, protocol.BootField: boot})},
		{"for_us", wrap(request(other1.ID, self.ID))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lim := wire.Limits{MaxLine: e.cfg.MaxLine}
			b.SetBytes(int64(len(tc.line)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.handleLine(tc.line, lim)
			}
		})
	}
}
