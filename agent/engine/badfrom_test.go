package engine

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/agent/wire"
)

// In open mode every sender is admitted, so from is the only guard: a line
// with a from the store cannot hold is counted and creates no conversation.
func TestHandleLineDropsBadFromBeforeAnyConversation(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: chanTransport{}, Policy: trust.NewPolicy(trust.Open, nil)})
	if err != nil {
		t.Fatal(err)
	}
	e.ctx = context.Background() // conversations may start, as under Run
	froms := []string{"a\x00b", strings.Repeat("z", 300), "tab\there", "bell\a"}
	before := metricValue(e.m.RejectedLines.WithLabelValues("bad_from"))
	for _, from := range froms {
		line, err := wire.Encode(wire.Payload{"to": nil, "intent": string(protocol.IntentRegister), "from": from})
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := json.Marshal(map[string]string{"remote_addr": "127.0.0.1:1", "content": string(line)})
		if err != nil {
			t.Fatal(err)
		}
		e.handleLine(wrapped, wire.Limits{})
	}
	if got := metricValue(e.m.RejectedLines.WithLabelValues("bad_from")) - before; got != float64(len(froms)) {
		t.Fatalf("bad_from counted %v, want %d", got, len(froms))
	}
	e.mu.Lock()
	n := len(e.convs)
	e.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d conversations started for invalid froms", n)
	}
}
