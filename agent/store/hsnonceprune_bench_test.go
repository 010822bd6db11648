package store

import (
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

const (
	benchPruneAgents = 1000
	benchPruneRows   = 100 // old hs rows per agent; as many fresh ones stay
)

// BenchmarkHSNoncePrune: one agent's prune of the hs nonce log on
// PostgreSQL with 1,000 agents' rows in nonce_event (100 old and 100 fresh
// hs rows each, 200,000 in all). "fleet-wide-before" is the statement
// agents ran before issue 11 (it deletes every agent's old rows in one
// statement), "fleet-wide" the same work in SKIP LOCKED batches
// (DeleteHSNoncesOlderThan), "own" DeleteOwnHSNoncesOlderThan. The rows an
// op deleted are put back between ops, off the clock.
//
//	go test -run '^$' -bench BenchmarkHSNoncePrune -benchtime 10x ./agent/store/
func BenchmarkHSNoncePrune(b *testing.B) {
	clk := newClock()
	s := openTestStore(b, pgtest.DSN(b), clk)
	seed := s.w.Rebind(`INSERT INTO nonce_event (self_id, role, peer_id, flow, nonce, created_at)
		SELECT 'agent-' || lpad(a::text, 4, '0'), 'initiator',
			'agent-' || lpad(((a + n) % ?::int)::text, 4, '0'), 'hs', CAST(? AS text) || '-' || n, CAST(? AS timestamptz)
		FROM generate_series(?::int, ?::int) a, generate_series(1, ?::int) n
		ON CONFLICT DO NOTHING`)
	put := func(prefix string, at time.Time, from, to int) {
		if _, err := s.w.ExecContext(ctx, seed, benchPruneAgents, prefix, at, from, to, benchPruneRows); err != nil {
			b.Fatal(err)
		}
	}
	oldAt := clk.Now().Add(-10 * time.Minute)
	put("old", oldAt, 0, benchPruneAgents-1)
	put("fresh", clk.Now(), 0, benchPruneAgents-1)
	if _, err := s.w.ExecContext(ctx, `ANALYZE nonce_event`); err != nil {
		b.Fatal(err)
	}
	const self, selfN = "agent-0500", 500
	before := s.w.Rebind(`DELETE FROM nonce_event WHERE flow = ? AND created_at < ?`)
	for _, c := range []struct {
		name     string
		from, to int // the agents whose rows an op deletes
		prune    func() (int64, error)
	}{
		{"fleet-wide-before", 0, benchPruneAgents - 1, func() (int64, error) {
			res, err := s.w.ExecContext(ctx, before, FlowHS, s.timeArg(clk.Now().Add(-5*time.Minute)))
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		}},
		{"fleet-wide", 0, benchPruneAgents - 1, func() (int64, error) {
			return s.DeleteHSNoncesOlderThan(ctx, 5*time.Minute)
		}},
		{"own", selfN, selfN, func() (int64, error) {
			return s.DeleteOwnHSNoncesOlderThan(ctx, self, 5*time.Minute)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			want := int64((c.to - c.from + 1) * benchPruneRows)
			for i := 0; i < b.N; i++ {
				n, err := c.prune()
				if err != nil || n != want {
					b.Fatalf("deleted %d, %v; want %d", n, err, want)
				}
				b.StopTimer()
				put("old", oldAt, c.from, c.to)
				b.StartTimer()
			}
			b.ReportMetric(float64(want), "rows/op")
		})
	}
}
