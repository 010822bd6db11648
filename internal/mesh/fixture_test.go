package mesh

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fixture: alice<->bob fresh and sealed, bob->carol stale, carol->alice
// never, alice->carol fresh but hs not verified; carol is not ready.
func fixture() Data {
	yes, no := true, false
	return Data{
		Agents: []Agent{{ID: "id-b", Name: "bob", Ready: &yes}, {ID: "id-a", Name: "alice", Ready: &yes}, {ID: "id-c", Name: "carol", Ready: &no}},
		Rows: []Row{
			{SelfID: "id-a", Role: "initiator", PeerID: "id-b", Cycles: 41, LastCycle: t0.Add(-time.Second), LastCycleVerified: true, Secure: true},
			{SelfID: "id-b", Role: "responder", PeerID: "id-a", Cycles: 42, LastCycle: t0.Add(-500 * time.Millisecond), LastCycleVerified: true, Secure: true},
			{SelfID: "id-b", Role: "initiator", PeerID: "id-a", Cycles: 40, LastCycle: t0.Add(-2 * time.Second), LastCycleVerified: true, Secure: true},
			{SelfID: "id-b", Role: "initiator", PeerID: "id-c", Cycles: 7, LastCycle: t0.Add(-90 * time.Second), LastCycleVerified: true, Secure: true},
			{SelfID: "id-c", Role: "responder", PeerID: "id-b", Cycles: 7, LastCycle: t0.Add(-91 * time.Second), LastCycleVerified: true, Secure: true},
			{SelfID: "id-c", Role: "initiator", PeerID: "id-a", Cycles: 0},
			{SelfID: "id-a", Role: "initiator", PeerID: "id-c", Cycles: 3, LastCycle: t0.Add(-3 * time.Second)},
			{SelfID: "id-c", Role: "responder", PeerID: "id-c", Cycles: 9}, // self-pair: ignored
			{SelfID: "id-a", Role: "bystander", PeerID: "id-b", Cycles: 9}, // unknown role: ignored
		},
	}
}

// bigFixture: n agents, every pair fresh except agent 2's outgoing pairs (stale).
func bigFixture(n int) Data {
	var d Data
	for i := 0; i < n; i++ {
		d.Agents = append(d.Agents, Agent{ID: fmt.Sprintf("id-%03d", i), Name: fmt.Sprintf("agent-%03d", i+1)})
	}
	for i := 0; i < n; i++ {
		for r := 0; r < n; r++ {
			if i == r {
				continue
			}
			last := t0.Add(-time.Duration(i+r) * 10 * time.Millisecond)
			if i == 1 {
				last = t0.Add(-time.Hour)
			}
			d.Rows = append(d.Rows, Row{SelfID: d.Agents[i].ID, Role: "initiator", PeerID: d.Agents[r].ID,
				Cycles: int64(100 + i + r), LastCycle: last, LastCycleVerified: true, Secure: true})
		}
	}
	return d
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
