//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// rowSummary reads an agent's per-pair state through the read-only store
// API the operator uses.
func rowSummary(t *testing.T, cfg config, agentID string) store.AgentSummary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg.databaseDSN)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	defer s.Close()
	sum, err := s.Summary(ctx, agentID, 64)
	if err != nil {
		t.Fatalf("summary of agent %s: %v", agentID, err)
	}
	return sum
}

// checkRowsGone asserts that a deleted agent left no per-pair state behind.
func checkRowsGone(t *testing.T, cfg config, agentID string) {
	t.Helper()
	if sum := rowSummary(t, cfg, agentID); sum.PeerCount != 0 || sum.Cycles != 0 || len(sum.Peers) != 0 {
		t.Fatalf("deleted agent %s still has rows: %+v", agentID, sum)
	}
}
