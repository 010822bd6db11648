package controllers

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func TestApplySummaryBoundsWhatReachesStatus(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	peers := make([]store.PeerSummary, 100)
	for i := range peers {
		peers[i] = store.PeerSummary{PeerID: fmt.Sprintf("p%03d", i), Role: "initiator", State: "finish", Cycles: int64(i), LastCycleAt: &at}
	}
	peers[0].Name = strings.Repeat("n", 1000)
	peers[1].Cycles = -5

	tests := []struct {
		name       string
		sum        store.AgentSummary
		wantPeers  int
		wantCount  int32
		wantCycles int64
	}{
		{name: "list capped at 64 while totals stay exact", sum: store.AgentSummary{Peers: peers, PeerCount: 100, Cycles: 4950, LastCycleAt: &at},
			wantPeers: hsv1.MaxStatusPeers, wantCount: 100, wantCycles: 4950},
		{name: "absurd totals are clamped", sum: store.AgentSummary{PeerCount: math.MaxInt64, Cycles: -1},
			wantPeers: 0, wantCount: math.MaxInt32, wantCycles: 0},
		{name: "empty summary clears status", sum: store.AgentSummary{}, wantPeers: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := &hsv1.HSAgent{}
			applySummary(agent, tt.sum)
			if len(agent.Status.Peers) != tt.wantPeers || agent.Status.PeerCount != tt.wantCount || agent.Status.Cycles != tt.wantCycles {
				t.Fatalf("peers=%d count=%d cycles=%d, want %d %d %d",
					len(agent.Status.Peers), agent.Status.PeerCount, agent.Status.Cycles, tt.wantPeers, tt.wantCount, tt.wantCycles)
			}
			for _, p := range agent.Status.Peers {
				if len(p.Name) > maxStatusString || p.Cycles < 0 {
					t.Fatalf("unbounded peer in status: name %d bytes, cycles %d", len(p.Name), p.Cycles)
				}
				if p.LastCycleTime != nil && p.LastCycleTime.Nanosecond() != 0 {
					t.Fatalf("time not truncated to seconds: %v", p.LastCycleTime)
				}
			}
		})
	}
}
