package controllers

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestAgentViewApplyBoundsWhatReachesStatus(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	peers := make([]store.PeerSummary, 100)
	for i := range peers {
		peers[i] = store.PeerSummary{PeerID: fmt.Sprintf("p%03d", i), Role: "initiator", State: "finish", Cycles: int64(i), LastCycleAt: &at}
	}
	peers[0].Name = strings.Repeat("n", 1000)
	peers[1].Cycles = -5
	peers[2].VerifiedCycles = 9 // more than its 2 cycles: clamped
	peers[3].VerifiedCycles = -1
	peers[4].VerifiedCycles = 3

	tests := []struct {
		name                      string
		sum                       store.FleetAgentSummary
		wantPeers                 int
		wantCount                 int32
		wantCycles, wantVerified  int64
		wantUnverified            int64
		wantStale                 int32
		wantHandshaking, wantPeer metav1.ConditionStatus
	}{
		{name: "sample capped while totals stay exact",
			sum:       store.FleetAgentSummary{Sample: peers, PeerCount: 100, Cycles: 4950, VerifiedCycles: 4000, StalePeers: 3, LastCycleAt: &at},
			wantPeers: hsv1.StatusPeerSample, wantCount: 100, wantCycles: 4950, wantVerified: 4000, wantUnverified: 950, wantStale: 3,
			wantHandshaking: metav1.ConditionTrue, wantPeer: metav1.ConditionFalse},
		{name: "absurd totals are clamped", sum: store.FleetAgentSummary{PeerCount: math.MaxInt64, Cycles: -1, VerifiedCycles: 7, StalePeers: -2},
			wantCount: math.MaxInt32, wantHandshaking: metav1.ConditionFalse, wantPeer: metav1.ConditionTrue},
		{name: "verified never exceeds cycles", sum: store.FleetAgentSummary{PeerCount: 1, Cycles: 5, VerifiedCycles: 9},
			wantCount: 1, wantCycles: 5, wantVerified: 5, wantHandshaking: metav1.ConditionFalse, wantPeer: metav1.ConditionTrue},
		{name: "empty summary clears status", wantHandshaking: metav1.ConditionFalse, wantPeer: metav1.ConditionUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := &hsv1.HSAgent{}
			v := &agentView{sum: tt.sum, staleAfter: time.Minute, handshakeWindow: 5 * time.Minute, polledAt: at.Add(time.Minute)}
			v.apply(agent)
			st := agent.Status
			if len(st.Peers) != tt.wantPeers || st.PeerCount != tt.wantCount || st.Cycles != tt.wantCycles ||
				st.VerifiedCycles != tt.wantVerified || st.UnverifiedCycles != tt.wantUnverified || st.StalePeers != tt.wantStale {
				t.Fatalf("status = peers %d count %d cycles %d verified %d unverified %d stale %d; want %d %d %d %d %d %d",
					len(st.Peers), st.PeerCount, st.Cycles, st.VerifiedCycles, st.UnverifiedCycles, st.StalePeers,
					tt.wantPeers, tt.wantCount, tt.wantCycles, tt.wantVerified, tt.wantUnverified, tt.wantStale)
			}
			if c := meta.FindStatusCondition(st.Conditions, hsv1.ConditionHandshaking); c == nil || c.Status != tt.wantHandshaking {
				t.Fatalf("Handshaking = %+v, want %s", c, tt.wantHandshaking)
			}
			if c := meta.FindStatusCondition(st.Conditions, hsv1.ConditionPeersCycling); c == nil || c.Status != tt.wantPeer {
				t.Fatalf("PeersCycling = %+v, want %s", c, tt.wantPeer)
			}
			if len(st.Peers) > 4 && (st.Peers[2].VerifiedCycles != 2 || st.Peers[3].VerifiedCycles != 0 || st.Peers[4].VerifiedCycles != 3) {
				t.Fatalf("per-peer verified cycles %d %d %d, want 2 (clamped to cycles) 0 3",
					st.Peers[2].VerifiedCycles, st.Peers[3].VerifiedCycles, st.Peers[4].VerifiedCycles)
			}
			for _, p := range st.Peers {
				if len(p.Name) > maxStatusString || p.Cycles < 0 || p.VerifiedCycles < 0 || p.VerifiedCycles > p.Cycles {
					t.Fatalf("unbounded peer in status: name %d bytes, cycles %d, verified %d", len(p.Name), p.Cycles, p.VerifiedCycles)
				}
				if p.LastCycleTime != nil && p.LastCycleTime.Nanosecond() != 0 {
					t.Fatalf("time not truncated to seconds: %v", p.LastCycleTime)
				}
			}
		})
	}
}

// Counters move on every cycle; only other changes are written at once.
func TestAgentViewSeparatesMeaningfulChangesFromCounters(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	base := func() *agentView {
		return &agentView{polledAt: at, staleAfter: time.Minute, handshakeWindow: 5 * time.Minute, sum: store.FleetAgentSummary{
			PeerCount: 2, Cycles: 10, LastCycleAt: &at,
			Sample: []store.PeerSummary{{PeerID: "a", Role: "initiator", State: "init_ready", Cycles: 5}},
		}}
	}
	later := at.Add(time.Second)
	tests := []struct {
		name   string
		change func(v *agentView)
		want   statusChange
	}{
		{"nothing", func(*agentView) {}, changeNone},
		{"cycles", func(v *agentView) { v.sum.Cycles++; v.sum.VerifiedCycles++; v.sum.LastCycleAt = &later }, changeCounters},
		{"sampled state and cycles", func(v *agentView) { v.sum.Sample[0].State = "init_exchange"; v.sum.Sample[0].Cycles++ }, changeCounters},
		{"new peer", func(v *agentView) { v.sum.PeerCount++ }, changeUrgent},
		{"peer went stale", func(v *agentView) { v.sum.StalePeers = 1 }, changeDetail},
		{"secure session", func(v *agentView) { v.sum.Sample[0].Secure = true }, changeDetail},
		{"handshaking ended", func(v *agentView) { v.polledAt = at.Add(time.Hour) }, changeUrgent},
		{"database trouble", func(v *agentView) { v.op, v.err = "open", errDatabaseUnreachable }, changeUrgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base()
			v.sum.Sample = append([]store.PeerSummary(nil), v.sum.Sample...)
			tt.change(v)
			if got := v.changeFrom(base()); got != tt.want {
				t.Errorf("changeFrom = %v, want %v", got, tt.want)
			}
		})
	}
	a, b := troubleView("open", errors.New("dial tcp: refused"), at), troubleView("open", errors.New("dial tcp: refused"), later)
	if c := a.changeFrom(b); c != changeNone {
		t.Errorf("the same trouble twice is a change: %v", c)
	}
	if c := troubleView("summary", errors.New("timeout"), at).changeFrom(a); c != changeUrgent {
		t.Errorf("other trouble: %v, want urgent", c)
	}
	// Urgent changes go before spec-less refreshes in the work queue.
	if !(changeUrgent.priority() > changeDetail.priority() && changeDetail.priority() > changeCounters.priority()) {
		t.Error("priorities not ordered urgent > detail > counters")
	}
}
