package adversary

import (
	"context"
	"fmt"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// verifiedGenuine: a verified cycle needs a genuine finalize message, so
// no honest agent counts more verified cycles with a peer than that peer
// sent it distinct genuine finalize lines (responder: close; initiator:
// finish), in its cycle events or in role_state.verified_cycles (what
// status reports). In fleet mode (every member bind1) every cycle between
// honest agents is also verified: an unverified one ran without binding.
func (w *world) verifiedGenuine() []string {
	genuine := map[[3]string]map[string]bool{} // (intent, from, to) → distinct refs
	for _, l := range w.att.recorded() {
		if l.intent != string(protocol.IntentClose) && l.intent != string(protocol.IntentFinish) {
			continue
		}
		k := [3]string{l.intent, l.from, l.to}
		if genuine[k] == nil {
			genuine[k] = map[string]bool{}
		}
		genuine[k][l.yourRef+"/"+l.myRef] = true
	}
	var out []string
	for _, p := range pairs(w.ids()) {
		ini, resp := p[0], p[1]
		for _, c := range []struct {
			self, peer, intent string
			role               protocol.Role
		}{
			{resp, ini, string(protocol.IntentClose), protocol.Responder},
			{ini, resp, string(protocol.IntentFinish), protocol.Initiator},
		} {
			lines := len(genuine[[3]string{c.intent, c.peer, c.self}])
			w.mu.Lock()
			events, all := w.verified[cycleKey{c.self, c.peer, c.role}], len(w.cycles[cycleKey{c.self, c.peer, c.role}])
			w.mu.Unlock()
			var rows int64
			err := w.db.QueryRowContext(context.Background(), `SELECT coalesce(sum(verified_cycles), 0) FROM role_state
				WHERE self_id = $1 AND role = $2 AND peer_id = $3`, c.self, string(c.role), c.peer).Scan(&rows)
			if err != nil {
				w.t.Errorf("read verified_cycles: %v", err)
			}
			if events > lines || rows > int64(lines) {
				out = append(out, fmt.Sprintf("%s %s with %s: %d verified cycles (%d in role_state) but %d genuine %s lines",
					short(c.self), c.role, short(c.peer), events, rows, lines, c.intent))
			}
			if w.opts.mode == trust.Fleet && events != all {
				out = append(out, fmt.Sprintf("%s %s with %s: %d of %d cycles unverified between bind1 members",
					short(c.self), c.role, short(c.peer), all-events, all))
			}
		}
	}
	if n := w.att.lost.Load(); n > 0 {
		out = append(out, fmt.Sprintf("(the attacker's connection dropped %d times; verified findings may be false)", n))
	}
	return out
}
