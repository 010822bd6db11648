package store

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// BenchmarkApplySteps: the group writer's batch statement (applyStepsPG)
// on a durable server, prepared (the default) and unprepared, with 1 or 4
// writers (agents) each saving batches of 2 or 8 steps over its own rows.
// A step is a reply's save: the row (compare-and-set), the received nonce
// (record-once) and our sent nonce; every 4th batch ends its pairs' cycles
// (clears the pair logs, counts a cycle). srv-µs/op and cli-µs/op are per
// batch; divide by the batch size for a step.
//
//	go test -run '^$' -bench BenchmarkApplySteps ./agent/store/
func BenchmarkApplySteps(b *testing.B) {
	var dsn string
	if os.Getenv(pgtest.EnvDSN) != "" {
		dsn = pgtest.DSN(b)
	} else {
		dsn = pgtest.NewCluster(b, pgtest.ClusterOptions{Durable: true}).NewDatabase(b)
	}
	for _, tg := range []struct{ name, dsn string }{
		{"prepared", dsn},
		{"unprepared", dsn + "&" + PrepareParam + "=off"},
	} {
		s := openBenchStore(b, tg.dsn, false)
		for _, c := range []struct{ writers, size int }{{1, 2}, {4, 2}, {4, 8}} {
			b.Run(fmt.Sprintf("%d-writers/batch-%d/%s", c.writers, c.size, tg.name), func(b *testing.B) {
				benchBatches(b, s, c.writers, c.size)
			})
		}
	}
}

func benchBatches(b *testing.B, s *Store, writers, size int) {
	run := time.Now().UnixNano()
	rows := make([][]RoleState, writers)
	for w := range rows {
		peers := make([]string, size)
		for j := range peers {
			peers[j] = fmt.Sprintf("peer-%d", j)
		}
		res, err := s.EnsureRoles(ctx, fmt.Sprintf("batch-%d-%d", run, w), peers, testDefaults)
		if err != nil {
			b.Fatal(err)
		}
		rows[w] = res.Rows[:size] // the initiator rows
	}
	parallel(b, s, writers, func(w, i int) error {
		steps := make([]Step, size)
		endCycle := i%4 == 0
		at := time.Now()
		for j, rs := range rows[w] {
			rs.State = []string{"init_exchange", "init_finalize_propose"}[i%2]
			rs.ExchangeCount = i % 5
			rs.PeerNonce = ptr(fmt.Sprintf("%d-%d-p", run, i))
			steps[j] = Step{Key: rs.Key, Next: rs, Write: true, Received: fmt.Sprintf("%d-%d-r", run, i),
				Sent: fmt.Sprintf("%d-%d-s", run, i), ClearPairNonces: endCycle}
			if endCycle {
				steps[j].CycleAt = &at
			}
		}
		res, err := s.ApplySteps(ctx, steps)
		if err != nil {
			return err
		}
		for j, r := range res {
			if r.Err != nil {
				return r.Err
			}
			rows[w][j] = r.Row
		}
		return nil
	})
}
