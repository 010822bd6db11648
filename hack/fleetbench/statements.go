package main

import (
	"context"
	"fmt"
	"strings"
)

// statementsSettings loads pg_stat_statements into the server (-statements).
var statementsSettings = []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all",
	"pg_stat_statements.max=1000"}

// enableStatements creates the extension in the fleet database and clears
// what start-up (migrations) recorded so far.
func (m *monitor) enableStatements(ctx context.Context) error {
	if _, err := m.db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return fmt.Errorf("pg_stat_statements: %w", err)
	}
	_, err := m.db.ExecContext(ctx, `SELECT pg_stat_statements_reset()`)
	return err
}

// printStatements lists the fleet database's statements by calls, per
// completed cycle, with their share of the server's execution time: which
// statements the commits per cycle come from, and which cost the server.
// Each top-level statement outside an explicit transaction is one commit;
// BEGIN/COMMIT show as their own rows. The SET LOCAL the store sends in
// the same message as the batch EXECUTE (agent/store/prepared.go,
// genericPlanSQL) is part of that statement's transaction, not a commit of
// its own, so it is left out; the batch shows under its PREPAREd text.
func (r *fleetRun) printStatements(ctx context.Context, top int) {
	cycles := r.last.cycles - r.first.cycles
	rows, err := r.mon.db.QueryContext(ctx, `SELECT calls, rows, total_exec_time, total_plan_time,
			sum(total_exec_time) OVER (), regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND toplevel
			AND query NOT LIKE 'SET LOCAL plan_cache_mode%'
		ORDER BY calls DESC LIMIT $2`, r.mon.dbName, top)
	if err != nil {
		fmt.Println("fleetbench: pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	fmt.Printf("top-level statements by calls (pg_stat_statements; %d cycles):\n", cycles)
	fmt.Printf("  %10s %9s %9s %7s  %s\n", "calls", "per cycle", "rows/call", "exec %", "statement")
	for rows.Next() {
		var calls, n int64
		var exec, plan, all float64
		var q string
		if err := rows.Scan(&calls, &n, &exec, &plan, &all, &q); err != nil {
			fmt.Println("fleetbench: pg_stat_statements:", err)
			return
		}
		if len(q) > 100 {
			q = q[:100] + "…"
		}
		fmt.Printf("  %10d %9.2f %9.2f %6.1f%%  %s\n", calls, ratio(calls, max(cycles, 1)), ratio(n, max(calls, 1)),
			100*exec/max(all, 1e-9), strings.TrimSpace(q))
	}
	if err := rows.Err(); err != nil {
		fmt.Println("fleetbench: pg_stat_statements:", err)
	}
}
