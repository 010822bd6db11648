package trust

import (
	"fmt"
	"slices"
)

// Cap is a capability a bundle entry advertises for its agent.
type Cap string

// CapBind1: the agent is an hsfleet agent that always sends the transcript
// binding (docs/integrity-plan.md §2.5): in fleet mode its hs must carry a
// valid `bind`, so an attacker cannot downgrade it to the legacy protocol
// by stripping the field.
const CapBind1 Cap = "bind1"

// Limits on the caps of one bundle entry. Unknown caps are kept (a newer
// operator may write caps this agent does not know) but must look like
// caps.
const (
	MaxCapsPerAgent = 16
	maxCapLen       = 32
)

// Caps maps agent ID → its capabilities, sorted and without duplicates.
// Agents written in the string form have no entry.
type Caps map[string][]Cap

// Has reports whether agent id advertises c.
func (c Caps) Has(id string, cp Cap) bool {
	return slices.Contains(c[id], cp)
}

// parseCaps validates and normalises one entry's caps list: each a
// non-empty [a-z0-9-] string of at most 32 bytes, at most 16 of them;
// duplicates collapse.
func parseCaps(id string, raw []string) ([]Cap, error) {
	if len(raw) > MaxCapsPerAgent {
		return nil, fmt.Errorf("%w: %.64q has %d caps, limit %d", ErrBadBundle, id, len(raw), MaxCapsPerAgent)
	}
	out := make([]Cap, 0, len(raw))
	for _, s := range raw {
		if !validCap(s) {
			return nil, fmt.Errorf("%w: %.64q has an invalid cap %.40q", ErrBadBundle, id, s)
		}
		out = append(out, Cap(s))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func validCap(s string) bool {
	if s == "" || len(s) > maxCapLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
