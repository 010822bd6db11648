package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// Benchmarks run against real PostgreSQL with production durability
// (fsync=on, full_page_writes=on, synchronous_commit=on: a transition is
// on the primary's disk before Update returns), against the same server
// with synchronous_commit=off (a server crash can lose the last ~0.6 s
// of commits, never corrupt them), and against SQLite (WAL,
// synchronous=NORMAL). With HSFLEET_TEST_DSN set, the "postgres" cases use
// that server as it is configured.
//
//	make bench   or   go test -run '^$' -bench . ./agent/store/
//
// The "-unprepared" targets turn hsfleet_prepare off (prepared.go).
// HSFLEET_BENCH_PQ_TWO_ROUND_TRIPS=1 turns lib/pq's binary_parameters off
// (the store's default is on) to measure what it saves.
func BenchmarkStore(b *testing.B) {
	type target struct {
		name, dsn string
		async     bool
	}
	pqParams := ""
	if os.Getenv("HSFLEET_BENCH_PQ_TWO_ROUND_TRIPS") != "" {
		pqParams = "&binary_parameters=no"
	}
	var targets []target
	unprepared := "&" + PrepareParam + "=off"
	if os.Getenv(pgtest.EnvDSN) != "" {
		targets = append(targets, target{"postgres", pgtest.DSN(b) + pqParams, false},
			target{"postgres-unprepared", pgtest.DSN(b) + pqParams + unprepared, false})
	} else {
		cluster := pgtest.NewCluster(b, pgtest.ClusterOptions{Durable: true})
		targets = append(targets,
			target{"postgres-sync-commit", cluster.NewDatabase(b) + pqParams, false},
			target{"postgres-sync-commit-unprepared", cluster.NewDatabase(b) + pqParams + unprepared, false},
			target{"postgres-async-commit", cluster.NewDatabase(b) + pqParams, true})
	}
	targets = append(targets, target{"sqlite", "sqlite:" + filepath.Join(b.TempDir(), "bench.db"), false})
	for _, tg := range targets {
		s := openBenchStore(b, tg.dsn, tg.async)
		if s.dialect == DialectPostgres {
			b.Run("pgbench-update-8-clients/"+tg.name, func(b *testing.B) { benchPgbench(b, s, tg.dsn, 8) })
		}
		b.Run("transition-8-writers/"+tg.name, func(b *testing.B) { benchTransitions(b, s, 8, 0) })
		// As the engine calls it: every store call has a deadline.
		b.Run("transition-8-writers-deadline/"+tg.name, func(b *testing.B) { benchTransitions(b, s, 8, 10*time.Second) })
		b.Run("record-nonce-once-8-writers/"+tg.name, func(b *testing.B) { benchRecordNonce(b, s, 8) })
		b.Run("update-recording-nonce-8-writers/"+tg.name, func(b *testing.B) { benchUpdateRecordingNonce(b, s, 8) })
		b.Run("summary-1000-peers/"+tg.name, func(b *testing.B) { benchSummary(b, s, 1000) })
	}
}

func openBenchStore(b *testing.B, dsn string, async bool) *Store {
	s, err := OpenWithOptions(ctx, dsn, Options{Logger: quietLogger(), MaxOpenConns: 16, AsyncCommit: async})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// parallel splits b.N operations over writers goroutines and reports
// ops/s and CPU per operation (cpumeter_test.go).
func parallel(b *testing.B, s *Store, writers int, op func(w, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	m := startCPUMeter(s.backendPID())
	b.ResetTimer()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
				if err := op(w, i); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	m.report(b, b.N)
}

// backendPID is the server process of one pooled connection, 0 on SQLite.
func (s *Store) backendPID() int {
	var pid int
	if s.dialect != DialectPostgres || s.w.Get(&pid, `SELECT pg_backend_pid()`) != nil {
		return 0
	}
	return pid
}

// benchTransitions: each writer owns one pair and moves it through the
// handshake states with compare-and-set Updates, as an engine goroutine
// per conversation would. A non-zero deadline gives each call a context
// with that timeout (database/sql and lib/pq then watch it, a goroutine
// each per query).
func benchTransitions(b *testing.B, s *Store, writers int, deadline time.Duration) {
	states := []string{"init_ready", "init_exchange", "init_finalize_propose", "init_finalize_close"}
	rows := make([]RoleState, writers)
	run := time.Now().UnixNano()
	for w := range rows {
		var err error
		rows[w], err = s.GetOrCreate(ctx, Key{SelfID: "bench-self", Role: Initiator, PeerID: fmt.Sprintf("peer-%d-%d", run, w)}, states[0])
		if err != nil {
			b.Fatal(err)
		}
	}
	hot := startHOTMeter(s)
	parallel(b, s, writers, func(w, i int) error {
		next := rows[w]
		next.State = states[i%len(states)]
		next.ExchangeCount = i % 5
		next.PeerNonce = ptr(fmt.Sprintf("%032x", i))
		c := ctx
		if deadline > 0 {
			var cancel context.CancelFunc
			c, cancel = context.WithTimeout(ctx, deadline)
			defer cancel()
		}
		got, err := s.Update(c, next)
		if err != nil {
			return err
		}
		rows[w] = got
		return nil
	})
	hot.report(b)
}

// benchUpdateRecordingNonce: a receive handler's save, the transition and
// the received nonce in one call, one pair per writer.
func benchUpdateRecordingNonce(b *testing.B, s *Store, writers int) {
	rows := make([]RoleState, writers)
	run := time.Now().UnixNano()
	for w := range rows {
		var err error
		rows[w], err = s.GetOrCreate(ctx, Key{SelfID: "bench-self", Role: Responder, PeerID: fmt.Sprintf("peer-urn-%d-%d", run, w)}, "resp_ready")
		if err != nil {
			b.Fatal(err)
		}
	}
	parallel(b, s, writers, func(w, i int) error {
		next := rows[w]
		nonce := fmt.Sprintf("%d-%032x", run, i)
		next.State, next.ExchangeCount, next.PeerNonce = "resp_exchange", i%5, &nonce
		got, err := s.UpdateRecordingNonce(ctx, next, FlowReceived, nonce)
		if err != nil {
			return err
		}
		rows[w] = got
		return nil
	})
}

func benchRecordNonce(b *testing.B, s *Store, writers int) {
	run := time.Now().UnixNano()
	parallel(b, s, writers, func(w, i int) error {
		k := Key{SelfID: "bench-self", Role: Responder, PeerID: fmt.Sprintf("peer-%d", w)}
		isNew, err := s.RecordNonceOnce(ctx, k, FlowReceived, fmt.Sprintf("%d-%d", run, i))
		if err == nil && !isNew {
			err = fmt.Errorf("nonce %d-%d reported as seen", run, i)
		}
		return err
	})
}

// benchSummary: one agent with peers peers, each in both roles (2 rows
// per peer), names in agents; the operator reads the status-sized list.
func benchSummary(b *testing.B, s *Store, peers int) {
	self := fmt.Sprintf("summary-self-%d", time.Now().UnixNano())
	seedSummary(b, s, self, peers)
	var sum AgentSummary
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if sum, err = s.Summary(ctx, self, 64); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sum.PeerCount != peers || len(sum.Peers) != 64 || sum.Cycles != int64(peers*3) {
		b.Fatalf("summary totals %d peers, %d listed, %d cycles; want %d, 64, %d", sum.PeerCount, len(sum.Peers), sum.Cycles, peers, peers*3)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// seedSummary bulk-loads rows in one transaction; going through the API
// row by row would dominate the benchmark's setup time.
func seedSummary(b testing.TB, s *Store, self string, peers int) {
	b.Helper()
	tx, err := s.w.Beginx()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now()
	for p := 0; p < peers; p++ {
		peer := fmt.Sprintf("%s-peer-%d", self, p)
		if _, err := tx.Exec(s.q.upsertAgent, peer, fmt.Sprintf("agent-%d", p), "bench", "", "", "", s.timeArg(now), s.timeArg(now)); err != nil {
			b.Fatal(err)
		}
		for r, role := range []Role{Initiator, Responder} {
			_, err := tx.Exec(s.w.Rebind(`INSERT INTO role_state (self_id, role, peer_id, state, cycles, last_cycle_at, hs_derived_at, created_at, updated_at)
				VALUES (?, ?, ?, 'ready', ?, ?, ?, ?, ?)`),
				self, string(role), peer, 1+r, s.timeArg(now.Add(-time.Duration(p)*time.Second)), s.timeArg(now), s.timeArg(now), s.timeArg(now))
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Fresh statistics, as autovacuum would have gathered in production.
	if _, err := s.w.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}
