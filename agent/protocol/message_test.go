package protocol

import (
	"errors"
	"testing"

	"github.com/hsfleet/hsfleet/agent/wire"
)

func TestParseMsgAppliesTheReceiveHook(t *testing.T) {
	tests := []struct {
		name    string
		p       map[string]any
		wantErr error
	}{
		{"broadcast register passes", map[string]any{"to": nil, "intent": "register", "from": peerID}, nil},
		{"message to us passes", map[string]any{"to": selfID, "intent": "confirm", "from": peerID, "my_nonce": "n"}, nil},
		{"message to another agent is dropped", map[string]any{"to": "other", "intent": "confirm", "from": peerID}, ErrNotForUs},
		{"missing to is dropped", map[string]any{"intent": "register", "from": peerID}, ErrNoTo},
		{"numeric to is dropped", map[string]any{"to": int64(5), "intent": "register", "from": peerID}, ErrNoTo},
		{"null from is dropped", map[string]any{"to": nil, "intent": "register", "from": nil}, ErrNoFrom},
		{"missing intent is dropped", map[string]any{"to": nil, "from": peerID}, ErrNoIntent},
		{"our own id as sender is dropped", map[string]any{"to": nil, "intent": "register", "from": selfID}, ErrFromOurself},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMsg(tc.p, "127.0.0.1:1", selfID)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestParseMsgReadsOnlyStringFields(t *testing.T) {
	m, err := ParseMsg(map[string]any{"to": selfID, "intent": "request", "from": peerID,
		"your_nonce": int64(3965119886), "my_nonce": "abc", "message": "hi"}, "a", selfID)
	if err != nil {
		t.Fatal(err)
	}
	if m.YourNonce != "" || m.MyNonce != "abc" || !m.HasMessage || m.Message != "hi" {
		t.Fatalf("parsed %+v", m)
	}
}

// FuzzInbound feeds arbitrary relay lines through the agent's whole inbound
// path: wire decoding, the receive hook and, when it passes, every state of
// the machine. Nothing may panic.
func FuzzInbound(f *testing.F) {
	f.Add([]byte(`{"remote_addr":"127.0.0.1:1","content":"from to intent"}`))
	f.Add([]byte(`{"remote_addr":"127.0.0.1:1","content":"{\"_version\":\"1.3.0\",\"_payload\":{\"to\":null,\"intent\":\"register\",\"from\":\"` + peerID + `\"},\"_type\":{}}"}`))
	f.Add([]byte(`{"remote_addr":"127.0.0.1:1","content":{"to":"` + selfID + `","intent":"request","from":"p","your_nonce":"a","my_nonce":"b","hs":{"type":"init"},"sec":{"envelope":{}}}}`))
	f.Add([]byte(`{"remote_addr":"127.0.0.1:1","content":{"to":"` + selfID + `","intent":"finish","from":"p","your_ref":"1","my_ref":"2"}}`))
	f.Add([]byte(`Warning: Server disconnected.`))
	states := []State{StateRespReady, StateRespConfirm, StateRespExchange, StateRespFinalize,
		StateInitReady, StateInitExchange, StateInitPropose, StateInitClose}
	f.Fuzz(func(t *testing.T, line []byte) {
		in, err := wire.Decode(line, wire.Limits{})
		if err != nil || in.Kind != wire.KindMessage {
			return
		}
		msg, err := ParseMsg(in.Payload, in.RemoteAddr, selfID)
		if err != nil {
			return
		}
		for _, st := range states {
			row := Row{State: st, LocalNonce: "a", PeerNonce: "b", LocalRef: "1", PeerRef: "2"}
			m := Machine{Policy: Policy{Strict: true, RequireSealed: true}}
			if _, err := m.OnMessage(row, Mem{}, msg, newMemEnv(msg.From, nil)); err != nil {
				t.Fatalf("state %s: %v", st, err)
			}
		}
	})
}
