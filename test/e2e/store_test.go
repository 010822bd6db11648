//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// checkRowsGone asserts, through the read-only store API the operator uses,
// that a deleted agent left no per-pair state behind.
func checkRowsGone(t *testing.T, cfg config, agentID string) {
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
		t.Fatalf("summary of deleted agent: %v", err)
	}
	if sum.PeerCount != 0 || sum.Cycles != 0 || len(sum.Peers) != 0 {
		t.Fatalf("deleted agent %s still has rows: %+v", agentID, sum)
	}
}
