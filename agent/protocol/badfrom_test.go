package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMsgRejectsFromsNoAgentHas(t *testing.T) {
	tests := []struct {
		name string
		from string
		ok   bool
	}{
		{"a UUID", "0b1f0c2e-6f4e-4e3a-9d2b-3f3c1a2b4c5d", true},
		{"128 bytes", strings.Repeat("a", MaxAgentIDLen), true},
		{"non-ASCII letters", "agent-é", true},
		{"129 bytes", strings.Repeat("a", MaxAgentIDLen+1), false},
		{"300 bytes", strings.Repeat("x", 300), false},
		{"a NUL byte", "agent\x00b", false},
		{"a newline", "agent\nb", false},
		{"DEL", "agent\x7f", false},
		{"a C1 control", "agent\u0085", false},
		{"invalid UTF-8", "agent\xff", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMsg(map[string]any{"to": nil, "intent": string(IntentRegister), "from": tc.from}, "", "self")
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadFrom) {
				t.Fatalf("err = %v, want ErrBadFrom", err)
			}
		})
	}
}

// FuzzParseMsgFrom: whatever from a payload carries, an accepted message
// has a from that ValidAgentID accepts, and ParseMsg never panics.
func FuzzParseMsgFrom(f *testing.F) {
	for _, s := range []string{"peer", "a\x00b", strings.Repeat("x", 300), "é", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, from string) {
		m, err := ParseMsg(map[string]any{"to": nil, "intent": string(IntentRegister), "from": from}, "", "self")
		if err == nil && !ValidAgentID(m.From) {
			t.Fatalf("accepted from %q", m.From)
		}
		if err == nil && len(m.From) > MaxAgentIDLen {
			t.Fatalf("accepted %d-byte from", len(m.From))
		}
	})
}
