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
	check(bob, carol, 7, 90, StatusStale, true, true)
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
