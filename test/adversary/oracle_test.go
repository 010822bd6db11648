package adversary

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
)

// The oracles. Each returns the violations it found as readable strings,
// so one attack can report every way it succeeded.

// noForgedCounts: nothing an honest agent counts with x (never started)
// can be genuine, in its cycle events or in role_state.cycles (what
// status reports).
func (w *world) noForgedCounts() []string {
	var out []string
	for _, id := range w.ids() {
		for _, role := range []protocol.Role{protocol.Initiator, protocol.Responder} {
			if n := w.count(id, w.x.ID, role); n > 0 {
				out = append(out, fmt.Sprintf("%s counted %d %s cycles with X (never started)", short(id), n, role))
			}
		}
	}
	var rows int64
	err := w.db.QueryRowContext(context.Background(),
		`SELECT coalesce(sum(cycles), 0) FROM role_state WHERE peer_id = $1`, w.x.ID).Scan(&rows)
	if err != nil {
		w.t.Errorf("read role_state for X: %v", err)
	} else if rows > 0 {
		out = append(out, fmt.Sprintf("role_state reports %d cycles with X (never started)", rows))
	}
	return out
}

// countsAgree: after the agents stop, an honest pair's initiator (counts on
// finish) and responder (counts on close) agree up to the one cycle whose
// close was in flight. A responder ahead counted a close its initiator
// never sent; an initiator ahead by more than one counted a finish its
// responder did not complete (forged finish, or a responder aborted by
// forged lines).
func (w *world) countsAgree() []string {
	var out []string
	for _, p := range pairs(w.ids()) {
		ini, resp := w.count(p[0], p[1], protocol.Initiator), w.count(p[1], p[0], protocol.Responder)
		if resp > ini || ini > resp+1 {
			out = append(out, fmt.Sprintf("pair %s->%s: initiator counted %d cycles, responder %d",
				short(p[0]), short(p[1]), ini, resp))
		}
	}
	return out
}

// echoesGenuine: every nonce or reference an honest agent echoes to a peer
// (your_nonce, your_ref) was offered to it by that peer in a genuine line
// (my_nonce, my_ref from peer to it). An echo of anything else means a
// forged or re-addressed line was accepted. Checked at the end, so lines
// the attacker saw out of order do not matter.
func (w *world) echoesGenuine() []string {
	lines := w.att.recorded()
	honest := map[string]bool{}
	for _, id := range w.ids() {
		honest[id] = true
	}
	offered := map[[3]string]bool{} // (from, to, token)
	for _, l := range lines {
		if l.to == "" {
			continue
		}
		for _, tok := range []string{l.myNonce, l.myRef} {
			if tok != "" {
				offered[[3]string{l.from, l.to, tok}] = true
			}
		}
	}
	bad := map[string]int{}
	for _, l := range lines {
		for _, tok := range []string{l.yourNonce, l.yourRef} {
			if tok != "" && honest[l.to] && !offered[[3]string{l.to, l.from, tok}] {
				bad[fmt.Sprintf("%s %s->%s", l.intent, short(l.from), short(l.to))]++
			}
		}
	}
	var out []string
	for k, n := range bad {
		out = append(out, fmt.Sprintf("%d %s lines echo a token the peer never sent to it", n, k))
	}
	if n := w.att.lost.Load(); n > 0 {
		out = append(out, fmt.Sprintf("(the attacker's connection dropped %d times; echo findings may be false)", n))
	}
	return out
}

// keptCycling: every honest pair completed a cycle, on both sides, within
// bound of the attack's start and of each earlier cycle until end.
func (w *world) keptCycling(ids []string, start, end time.Time, bound time.Duration) []string {
	var out []string
	for _, p := range pairs(ids) {
		for _, side := range []struct {
			self, peer string
			role       protocol.Role
		}{{p[0], p[1], protocol.Initiator}, {p[1], p[0], protocol.Responder}} {
			if gap, at := maxGap(w.cycleTimes(side.self, side.peer, side.role), start, end); gap > bound {
				out = append(out, fmt.Sprintf("pair %s->%s: %s went %s without a cycle (from %s into the attack; bound %s)",
					short(p[0]), short(p[1]), side.role, gap.Round(time.Millisecond),
					at.Sub(start).Round(time.Millisecond), bound))
			}
		}
	}
	return out
}

// maxGap is the longest stretch in [start, end] without a time from ts,
// and where it began.
func maxGap(ts []time.Time, start, end time.Time) (time.Duration, time.Time) {
	prev, gap, at := start, time.Duration(0), start
	for _, t := range append(ts, end) {
		if t.Before(start) {
			continue
		}
		if t.After(end) {
			t = end
		}
		if d := t.Sub(prev); d > gap {
			gap, at = d, prev
		}
		prev = t
		if !t.Before(end) {
			break
		}
	}
	return gap, at
}

// readiness samples every agent's readiness (what /readyz reports) every
// 10 ms once armed, and remembers each time it was false. An agent counts
// only once it has been ready (a newcomer is not ready before it connects).
type readiness struct {
	mu       sync.Mutex
	armed    bool
	wasReady map[string]bool
	downs    map[string]int
	first    map[string]time.Time
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

func (r *readiness) start(w *world) {
	r.downs, r.first, r.wasReady = map[string]int{}, map[string]time.Time{}, map[string]bool{}
	r.quit = make(chan struct{})
	r.done = every(10*time.Millisecond, r.quit, func() {
		r.mu.Lock()
		armed := r.armed
		r.mu.Unlock()
		if armed {
			for _, a := range w.agentsNow() {
				r.sample(short(a.id.ID), a.ready())
			}
		}
	})
}

// sample records one reading; it re-checks armed, so a reading taken while
// the test stops the agents (after disarming) does not count.
func (r *readiness) sample(id string, ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.armed:
	case ready:
		r.wasReady[id] = true
	case r.wasReady[id]:
		if r.downs[id] == 0 {
			r.first[id] = time.Now()
		}
		r.downs[id]++
	}
}

func (r *readiness) arm(on bool) {
	r.mu.Lock()
	r.armed = on
	r.mu.Unlock()
}

func (r *readiness) stop() {
	r.stopOnce.Do(func() {
		if r.quit != nil {
			close(r.quit)
			<-r.done
		}
	})
}

// violations lists agents that were not ready while armed.
func (r *readiness) violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, n := range r.downs {
		out = append(out, fmt.Sprintf("agent %s was not ready in %d samples (10 ms apart), first at %s",
			id, n, r.first[id].Format("15:04:05.000")))
	}
	return out
}

// rowToken is a peer token one honest agent's row held.
type rowToken struct{ self, role, peer, col, tok string }

// watchRows reads role_state between honest agents every 100 ms until stop
// closes, so rowsGenuine also sees tokens a later cycle overwrote.
func (w *world) watchRows(stop <-chan struct{}) {
	w.rowsDone = every(100*time.Millisecond, stop, w.readRowTokens)
}

// readRowTokens adds the peer tokens in role_state rows between honest
// agents to w.rowTokens.
func (w *world) readRowTokens() {
	rows, err := w.db.QueryContext(context.Background(),
		`SELECT self_id, role, peer_id, coalesce(peer_nonce, ''), coalesce(peer_reference, '')
		   FROM role_state WHERE self_id = ANY($1) AND peer_id = ANY($1)`, pqArray(w.ids()))
	if err != nil {
		w.t.Errorf("read role_state: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var self, role, peer, nonce, ref string
		if err := rows.Scan(&self, &role, &peer, &nonce, &ref); err != nil {
			w.t.Errorf("scan role_state: %v", err)
			return
		}
		w.mu.Lock()
		for _, c := range []struct{ col, v string }{{"peer_nonce", nonce}, {"peer_reference", ref}} {
			if c.v != "" {
				w.rowTokens[rowToken{self, role, peer, c.col, c.v}] = true
			}
		}
		w.mu.Unlock()
	}
	if err := rows.Err(); err != nil {
		w.t.Errorf("read role_state: %v", err)
	}
}

// rowsGenuine: every peer_nonce and peer_reference a row between honest
// agents held (sampled during the attack and read once more after the
// agents stopped) is a token the peer offered in a genuine line (its
// my_nonce or my_ref to this agent). Anything else was taken from a forged
// line, even one that raced a genuine one and so left the counts alone (a
// forged close).
func (w *world) rowsGenuine() []string {
	if w.rowsDone != nil {
		<-w.rowsDone
	}
	w.readRowTokens()
	offered := map[[3]string]bool{}
	for _, l := range w.att.recorded() {
		for _, tok := range []string{l.myNonce, l.myRef} {
			if tok != "" && l.to != "" {
				offered[[3]string{l.from, l.to, tok}] = true
			}
		}
	}
	bad := map[string]int{}
	w.mu.Lock()
	for rt := range w.rowTokens {
		if !offered[[3]string{rt.peer, rt.self, rt.tok}] {
			bad[fmt.Sprintf("%s's %s row for %s held %%d %s values %s never sent it",
				short(rt.self), rt.role, short(rt.peer), rt.col, short(rt.peer))]++
		}
	}
	w.mu.Unlock()
	var out []string
	for f, n := range bad {
		out = append(out, fmt.Sprintf(f, n))
	}
	return out
}
