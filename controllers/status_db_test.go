package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func openTestStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// writeConversation records cycles completed by self with peer, through the
// store API the agents use; when secure is set the pair is marked secure
// and its cycles count as verified (authenticated end to end), as a
// binding agent's steps record them.
func writeConversation(t testing.TB, st *store.Store, self string, role store.Role, peer string, cycles int, at time.Time, secure bool) {
	t.Helper()
	ctx := context.Background()
	k := store.Key{SelfID: self, Role: role, PeerID: peer}
	rs, err := st.GetOrCreate(ctx, k, "ready")
	if err != nil {
		t.Fatalf("GetOrCreate %v: %v", k, err)
	}
	if secure {
		derived, opened := at, time.Now().UTC()
		rs.HSDerivedAt, rs.LastSecureAt = &derived, &opened
		if _, err := st.Update(ctx, rs); err != nil {
			t.Fatalf("Update %v: %v", k, err)
		}
	}
	for i := 0; i < cycles; i++ {
		if secure {
			res, err := st.ApplySteps(ctx, []store.Step{{Key: k, CycleAt: &at, Verified: true}})
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				t.Fatalf("ApplySteps verified cycle %v: %v", k, err)
			}
			continue
		}
		if _, err := st.BumpCycles(ctx, k, at); err != nil {
			t.Fatalf("BumpCycles %v: %v", k, err)
		}
	}
}

func TestStatusReportsPeersAndCyclesFromPostgres(t *testing.T) {
	ns := newNamespace(t)
	dsn := testDSN(t)
	createDatabaseSecret(t, ns, "hsfleet-db", dsn)
	startOperator(t, ns, testOperatorConfig())
	st := openTestStore(t, dsn)
	ctx := context.Background()

	createHSAgent(t, newHSAgent(ns, "dave"))
	a := waitCondition(t, ns, "dave", hsv1.ConditionHandshaking, metav1.ConditionFalse, ReasonNoRecentCycles)
	self := a.Status.AgentID

	// 70 peers (more than the status sample holds), 35 of them in both
	// roles; peer-00 last cycled long ago (stale).
	const peers = 70
	base := time.Now().UTC().Add(-20 * time.Second).Truncate(time.Second)
	var wantCycles int64
	for i := 0; i < peers; i++ {
		peer := fmt.Sprintf("peer-%02d", i)
		if err := st.UpsertAgent(ctx, store.Agent{SelfID: peer, Name: "name-" + peer, Namespace: ns, StartedAt: base, LastSeenAt: base}); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * 100 * time.Millisecond)
		if i == 0 {
			at = base.Add(-10 * time.Minute)
		}
		writeConversation(t, st, self, store.Initiator, peer, 2, at, i%2 == 0)
		wantCycles += 2
		if i%2 == 1 {
			writeConversation(t, st, self, store.Responder, peer, 1, at, false)
			wantCycles++
		}
	}
	// Another agent's rows must not be counted.
	writeConversation(t, st, "someone-else", store.Initiator, self, 5, base, false)

	a = waitCondition(t, ns, "dave", hsv1.ConditionHandshaking, metav1.ConditionTrue, ReasonCyclesCompleted)
	eventually(t, 20*time.Second, func() error {
		a = getHSAgent(t, ns, "dave")
		if a.Status.PeerCount != peers || a.Status.Cycles != wantCycles || len(a.Status.Peers) != hsv1.StatusPeerSample ||
			a.Status.StalePeers != 1 {
			return fmt.Errorf("peerCount %d cycles %d peers %d stale %d, want %d %d %d 1",
				a.Status.PeerCount, a.Status.Cycles, len(a.Status.Peers), a.Status.StalePeers, peers, wantCycles, hsv1.StatusPeerSample)
		}
		return nil
	})
	// Even peers' initiator rows had a verified hs: 35 peers × 2 cycles.
	if a.Status.VerifiedCycles != 70 || a.Status.UnverifiedCycles != wantCycles-70 {
		t.Errorf("verified %d unverified %d, want 70 and %d", a.Status.VerifiedCycles, a.Status.UnverifiedCycles, wantCycles-70)
	}
	if err := conditionIs(a, hsv1.ConditionPeersCycling, metav1.ConditionFalse, ReasonPeersNotCycling); err != nil {
		t.Error(err)
	}
	last := base.Add((peers - 1) * 100 * time.Millisecond).Truncate(time.Second)
	if a.Status.LastCycleTime == nil || !a.Status.LastCycleTime.Time.Equal(last) {
		t.Errorf("lastCycleTime %v, want %v", a.Status.LastCycleTime, last)
	}
	// Nothing changes in the database: no status write, poll after poll.
	rv := a.ResourceVersion
	time.Sleep(6 * testOperatorConfig().StatusInterval)
	if again := getHSAgent(t, ns, "dave"); again.ResourceVersion != rv {
		t.Errorf("HSAgent written while its database did not change: resourceVersion %s -> %s", rv, again.ResourceVersion)
	}
	// A stable sample: by peer ID, then role, whatever cycled last.
	if first := a.Status.Peers[0]; first.AgentID != "peer-00" || first.Role != "initiator" {
		t.Errorf("first sampled peer %+v, want peer-00 initiator", first)
	}
	for _, p := range a.Status.Peers {
		if p.Name != "name-"+p.AgentID {
			t.Errorf("peer %s name %q", p.AgentID, p.Name)
		}
		if p.Role == "initiator" && p.Cycles != 2 || p.Role == "responder" && p.Cycles != 1 {
			t.Errorf("peer %s role %s cycles %d", p.AgentID, p.Role, p.Cycles)
		}
		var idx int
		if _, err := fmt.Sscanf(p.AgentID, "peer-%d", &idx); err != nil {
			t.Fatal(err)
		}
		// Even peers' initiator rows: verified cycles, and secure while
		// one is recent; peer-00's last (verified) cycle is 10 minutes
		// old, past the stale window, so its session is not secure.
		verified := p.Role == "initiator" && idx%2 == 0
		if want := verified && idx != 0; p.Secure != want {
			t.Errorf("peer %s %s secure=%v, want %v", p.AgentID, p.Role, p.Secure, want)
		}
		if want := map[bool]int64{true: 2, false: 0}[verified]; p.VerifiedCycles != want {
			t.Errorf("peer %s %s verifiedCycles=%d, want %d", p.AgentID, p.Role, p.VerifiedCycles, want)
		}
	}
}

func TestDatabaseTroubleIsReportedInStatusNotFatal(t *testing.T) {
	tests := []struct {
		name       string
		dbSecret   map[string]string // nil: no Secret at all
		wantReason string
	}{
		{"missing database Secret", nil, ReasonDatabaseSecretMissing},
		{"Secret without dsn", map[string]string{"url": "x"}, ReasonDatabaseSecretInvalid},
		{"unreachable database", map[string]string{DatabaseDSNKey: "postgres://nobody:hunter2pw@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"}, ReasonDatabaseUnreachable},
		{"sqlite DSN", map[string]string{DatabaseDSNKey: "sqlite:/tmp/hunter2pw.db"}, ReasonDatabaseDSNUnsupported},
		{"key=value DSN", map[string]string{DatabaseDSNKey: "host=127.0.0.1 password=hunter2pw"}, ReasonDatabaseDSNUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := newNamespace(t)
			if tt.dbSecret != nil {
				_, c := testEnv(t)
				sec := newSecret(ns, "hsfleet-db", tt.dbSecret)
				if err := c.Create(context.Background(), sec); err != nil {
					t.Fatal(err)
				}
			}
			startOperator(t, ns, testOperatorConfig())
			createHSAgent(t, newHSAgent(ns, "erin"))
			a := waitCondition(t, ns, "erin", hsv1.ConditionHandshaking, metav1.ConditionUnknown, tt.wantReason)
			if err := conditionIs(a, hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored); err != nil {
				t.Error(err)
			}
			if c := meta.FindStatusCondition(a.Status.Conditions, hsv1.ConditionHandshaking); strings.Contains(c.Message, "hunter2pw") {
				t.Errorf("condition message leaks the DSN: %q", c.Message)
			}
			eventually(t, 10*time.Second, func() error { return hasEvent(t, a, EventDatabaseUnavailable) })
			if a.Status.ObservedGeneration != a.Generation {
				t.Errorf("database trouble must not fail the reconcile: observedGeneration %d, generation %d",
					a.Status.ObservedGeneration, a.Generation)
			}
		})
	}
}
