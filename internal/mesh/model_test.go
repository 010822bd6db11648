package mesh

import (
	"testing"
	"time"
)

func TestBuildMergesBothSidesOfEachPair(t *testing.T) {
	v := Build(t0, 30*time.Second, fixture())
	names := []string{}
	for _, a := range v.Agents {
		names = append(names, a.Name)
	}
	if len(names) != 3 || names[0] != "alice" || names[1] != "bob" || names[2] != "carol" {
		t.Fatalf("agents = %v; want sorted alice bob carol", names)
	}
	const alice, bob, carol = 0, 1, 2
	check := func(i, r int, cycles int64, age float64, st Status, verified, secure bool) {
		t.Helper()
		c := v.Cells[i][r]
		if c == nil || c.Cycles != cycles || c.AgeSec != age || c.Status != st || c.Verified != verified || c.Secure != secure {
			t.Errorf("cell %d->%d = %+v; want cycles %d age %v %s verified %v secure %v", i, r, c, cycles, age, st, verified, secure)
		}
	}
	check(alice, bob, 42, 0.5, StatusOK, true, true) // max cycles and latest time of both sides
	check(bob, alice, 40, 2, StatusOK, true, true)
	check(bob, carol, 7, 90, StatusStale, false, true) // verified, but not within the window
	check(carol, alice, 0, -1, StatusNever, false, false)
	check(alice, carol, 3, 3, StatusOK, false, false)
	check(carol, bob, 0, -1, StatusNever, false, false) // no row at all
	for i := range v.Cells {
		if v.Cells[i][i] != nil {
			t.Errorf("diagonal %d = %+v; want nil", i, v.Cells[i][i])
		}
	}
	if v.Stalled != 3 || v.Agents[carol].Stalled != 3 || v.Agents[alice].Stalled != 1 {
		t.Errorf("stalled = %d, carol %d, alice %d; want 3, 3, 1", v.Stalled, v.Agents[carol].Stalled, v.Agents[alice].Stalled)
	}
	if w := v.Worst[0]; w != (PairRef{bob, carol}) {
		t.Errorf("worst = %+v; want bob->carol (stale) first", w)
	}
	if w := v.Cell(v.Worst[len(v.Worst)-1]); w.Status != StatusOK || w.AgeSec != 0.5 {
		t.Errorf("best = %+v; want the freshest ok pair last", w)
	}
}

func TestBuildAddsAgentsSeenOnlyInRows(t *testing.T) {
	v := Build(t0, time.Minute, Data{Rows: []Row{{SelfID: "0123456789abcdef", Role: "responder", PeerID: "x", Cycles: 1, LastCycle: t0}}})
	if len(v.Agents) != 2 || v.Agents[0].Name != "01234567" || v.Agents[1].Name != "x" {
		t.Fatalf("agents = %+v", v.Agents)
	}
	if c := v.Cells[1][0]; c.Cycles != 1 || c.Status != StatusOK {
		t.Errorf("x -> 0123… = %+v", c)
	}
}

func TestBuildEmpty(t *testing.T) {
	v := Build(t0, time.Minute, Data{})
	if len(v.Agents) != 0 || v.Stalled != 0 || len(v.Worst) != 0 {
		t.Errorf("empty view = %+v", v)
	}
}

// TestVerifiedMeansAVerifiedCycleWithinTheWindow: "#" (Cell.Verified) only
// for a pair whose last cycle was verified and is within the stale window;
// an unverified (Python, open-mode) cycle is a cycle, not "#", and so is a
// verified pair's later unverified cycle, whichever side's row has it.
func TestVerifiedMeansAVerifiedCycleWithinTheWindow(t *testing.T) {
	for _, c := range []struct {
		name       string
		rows       []Row
		wantStatus Status
		want       bool
	}{
		{"verified, fresh", []Row{{Role: "initiator", LastCycle: t0.Add(-time.Second), LastCycleVerified: true}}, StatusOK, true},
		{"verified, stale", []Row{{Role: "initiator", LastCycle: t0.Add(-2 * time.Minute), LastCycleVerified: true}}, StatusStale, false},
		{"unverified, fresh", []Row{{Role: "initiator", LastCycle: t0.Add(-time.Second), Secure: true}}, StatusOK, false},
		{"never", []Row{{Role: "initiator"}}, StatusNever, false},
		{"responder's later unverified cycle", []Row{{Role: "initiator", LastCycle: t0.Add(-3 * time.Second), LastCycleVerified: true},
			{Role: "responder", LastCycle: t0.Add(-time.Second)}}, StatusOK, false},
		{"responder's later verified cycle", []Row{{Role: "initiator", LastCycle: t0.Add(-3 * time.Second)},
			{Role: "responder", LastCycle: t0.Add(-time.Second), LastCycleVerified: true}}, StatusOK, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d Data
			for _, r := range c.rows {
				r.Cycles = 1
				if r.Role == "initiator" {
					r.SelfID, r.PeerID = "a", "b"
				} else {
					r.SelfID, r.PeerID = "b", "a"
				}
				d.Rows = append(d.Rows, r)
			}
			v := Build(t0, time.Minute, d)
			cell := v.Cells[0][1]
			if cell.Status != c.wantStatus || cell.Verified != c.want {
				t.Fatalf("a -> b = %+v; want status %s, verified %v", cell, c.wantStatus, c.want)
			}
			wantGlyph := map[bool]byte{true: '#', false: '+'}[c.want]
			if c.wantStatus == StatusOK && glyph(cell) != wantGlyph {
				t.Errorf("glyph %q, want %q", glyph(cell), wantGlyph)
			}
		})
	}
}
