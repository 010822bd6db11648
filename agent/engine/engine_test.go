package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/agent/wire"
)

// chanTransport is an in-memory relay connection.
type chanTransport struct{ lines chan []byte }

func (c chanTransport) Send([]byte) error    { return nil }
func (c chanTransport) Lines() <-chan []byte { return c.lines }

func TestHandleLineDropsHostileLinesWithAReason(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := mustIdentity(t, "a")
	e, err := New(Config{Identity: id, Store: st, Transport: chanTransport{}, Policy: trust.NewPolicy(trust.Fleet, nil)})
	if err != nil {
		t.Fatal(err)
	}
	relayed := func(content string) string {
		return `{"remote_addr":"127.0.0.1:1","content":` + content + `}`
	}
	tests := []struct {
		name, line, reason string
	}{
		{"the line that kills Python agents is dropped unparsed", relayed(`"from to intent"`), "not_for_us"},
		{"plain text is dropped as text", relayed(`"null from to intent"`), "text"},
		{"a 70 KB line is refused", relayed(`{"to":null,"pad":"` + strings.Repeat("A", 70_000) + `"}`), "too_long"},
		{"a line that is not JSON is malformed", `{"remote_addr": null`, "malformed"},
		{"a payload without intent fails the receive hook", relayed(`{"to":null,"from":"x"}`), "not_hsagent"},
		{"an agent outside the fleet is ignored", relayed(`{"to":null,"intent":"register","from":"stranger"}`), "unknown_agent"},
		{"a message for another agent is not ours", relayed(`{"to":"other","intent":"confirm","from":"x","n":null}`), "not_for_us"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := metricValue(e.m.RejectedLines.WithLabelValues(tc.reason))
			e.handleLine([]byte(tc.line), wire.Limits{})
			if got := metricValue(e.m.RejectedLines.WithLabelValues(tc.reason)) - before; got != 1 {
				t.Fatalf("%s counted %v times", tc.reason, got)
			}
		})
	}
}
