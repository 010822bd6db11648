package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// The engine's pattern: one goroutine per conversation reads the row,
// decides, and writes it back with compare-and-set.
func Example() {
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite::memory:") // or "postgres://user@host/db?sslmode=require"
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	k := store.Key{SelfID: "agent-a", Role: store.Initiator, PeerID: "agent-b"}
	rs, _ := s.GetOrCreate(ctx, k, "init_ready")
	rs.State = "init_exchange"
	rs, _ = s.Update(ctx, rs)

	isNew, _ := s.RecordNonceOnce(ctx, k, store.FlowReceived, "5f2b...")
	replay, _ := s.RecordNonceOnce(ctx, k, store.FlowReceived, "5f2b...")
	cycles, _ := s.BumpCycles(ctx, k, time.Now())

	stale := rs
	stale.Version-- // someone else's older read
	_, err = s.Update(ctx, stale)

	sum, _ := s.Summary(ctx, "agent-a", 64)
	fmt.Println(rs.State, rs.Version, isNew, replay, cycles, errors.Is(err, store.ErrConflict), sum.PeerCount)
	// Output: init_exchange 2 true false 1 true 1
}
