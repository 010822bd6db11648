package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// The batch statement runs as EXECUTE of its generic plan; a server
// connection that lost it (DEALLOCATE ALL, a PgBouncer server connection
// that never had it) gets it prepared again, and compare-and-set and
// record-once keep their meaning across that.
func TestBatchStatementIsPreparedAgainWhenMissing(t *testing.T) {
	s, a := openOneConnWithRow(t, pgtest.DSN(t))
	b := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "peer"})
	for i := 0; i < 3; i++ {
		if _, err := s.w.Exec(`DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		staleA := a
		res, err := s.ApplySteps(ctx, []Step{
			{Key: a.Key, Next: a, Write: true, Received: fmt.Sprint("ra", i), Sent: fmt.Sprint("sa", i)},
			{Key: b.Key, Next: b, Write: true, Received: fmt.Sprint("rb", i)},
		})
		if err != nil || res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("batch %d after DEALLOCATE ALL: %v, %+v", i, err, res)
		}
		a, b = res[0].Row, res[1].Row
		if _, err := s.w.Exec(`DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		res, err = s.ApplySteps(ctx, []Step{
			{Key: a.Key, Next: staleA, Write: true, Received: fmt.Sprint("ra-new", i)},
			{Key: b.Key, Next: b, Write: true, Received: fmt.Sprint("rb", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, ErrConflict) || !errors.Is(res[1].Err, ErrReplay) {
			t.Fatalf("stale and replayed batch %d: %v, %v; want ErrConflict, ErrReplay", i, res[0].Err, res[1].Err)
		}
	}
	var generic, custom int64
	err := s.w.QueryRow(`SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1`,
		newHotStatement(applyStepsPGQuery).name).Scan(&generic, &custom)
	if err != nil {
		t.Fatalf("the batch statement is not prepared on the store's connection: %v", err)
	}
	if generic == 0 || custom != 0 {
		t.Fatalf("batch statement ran %d generic and %d custom plans; want only generic", generic, custom)
	}
	var mode string
	if err := s.w.Get(&mode, `SHOW plan_cache_mode`); err != nil || mode != "auto" {
		t.Fatalf("session plan_cache_mode = %q (%v) after the batches; SET LOCAL must not leak into the session", mode, err)
	}
}

// Behind PgBouncer in transaction mode, agents share server connections:
// one agent's batch finds the statement another agent prepared there (or
// prepares it), and no session setting is left behind.
func TestBatchesOfManyAgentsShareOneServerConnectionThroughPgBouncer(t *testing.T) {
	dsn := pgtest.DSN(t)
	bouncer := pgtest.NewBouncer(t, dsn, pgtest.BouncerOptions{PoolSize: 2})
	const agents = 4
	stores := make([]*Store, agents)
	rows := make([][]RoleState, agents)
	for i := range stores {
		stores[i] = openTestStore(t, bouncer.Via(dsn), nil)
		res, err := stores[i].EnsureRoles(ctx, fmt.Sprint("agent-", i), []string{"p1", "p2", "p3"}, testDefaults)
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = res.Rows[:3]
	}
	errs := race(agents, func(i int) error {
		s := stores[i]
		for n := 0; n < 30; n++ {
			steps := make([]Step, len(rows[i]))
			for j, rs := range rows[i] {
				rs.ExchangeCount = n
				steps[j] = Step{Key: rs.Key, Next: rs, Write: true, Received: fmt.Sprint("r", n), Sent: fmt.Sprint("s", n)}
			}
			res, err := s.ApplySteps(ctx, steps)
			if err != nil {
				return err
			}
			for j, r := range res {
				if r.Err != nil {
					return fmt.Errorf("batch %d step %d: %w", n, j, r.Err)
				}
				rows[i][j] = r.Row
			}
		}
		return nil
	})
	if err := firstErr(errs); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		var mode string
		if err := s.w.Get(&mode, `SHOW plan_cache_mode`); err != nil || mode != "auto" {
			t.Fatalf("plan_cache_mode = %q (%v) on a shared server connection; SET LOCAL must end with its transaction", mode, err)
		}
		for _, rs := range rows[i] {
			got, err := s.Get(ctx, rs.Key)
			if err != nil || got.ExchangeCount != 29 || got.Version != rs.Version {
				t.Fatalf("%s: %+v, %v; want exchange_count 29 at version %d", rs.label(), got, err, rs.Version)
			}
		}
	}
}
