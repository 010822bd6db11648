package store

import (
	"bytes"
	"database/sql"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// syncBuffer is a log sink safe for the store's concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Asynchronous commit is a startup parameter; PgBouncer refuses unknown
// ones, drops the ones it is told to ignore, and can set it per server
// connection with connect_query instead (docs/database.md).
func TestAsyncCommitThroughPgBouncer(t *testing.T) {
	dsn := pgtest.DSN(t)
	// The throwaway server runs with synchronous_commit=off; make this
	// database's default durable so only the bouncer can turn it off.
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, err := direct.ExecContext(ctx, `ALTER DATABASE `+strings.TrimPrefix(u.Path, "/")+` SET synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	ignore := []string{"synchronous_commit"}
	for _, tc := range []struct {
		name     string
		opts     pgtest.BouncerOptions
		wantOpen bool
		want     string // synchronous_commit every session reports
		wantWarn bool
	}{
		{"strict bouncer refuses the startup parameter", pgtest.BouncerOptions{}, false, "", false},
		{"ignored parameter leaves commits durable and warns", pgtest.BouncerOptions{IgnoreStartupParameters: ignore}, true, "on", true},
		{"connect_query turns it off for every server connection", pgtest.BouncerOptions{IgnoreStartupParameters: ignore,
			ConnectQuery: "SET synchronous_commit = off"}, true, "off", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pgtest.NewBouncer(t, dsn, tc.opts)
			var logs syncBuffer
			s, err := OpenWithOptions(ctx, b.Via(dsn), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				MaxOpenConns: 4, AsyncCommit: true})
			if !tc.wantOpen {
				if err == nil {
					s.Close()
					t.Fatal("Open through a strict PgBouncer with a synchronous_commit startup parameter succeeded")
				}
				if !strings.Contains(err.Error(), "synchronous_commit") {
					t.Fatalf("error does not name the parameter: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Four at once, so several server connections answer.
			got := make([]string, 4)
			errs := race(4, func(i int) error {
				return s.w.GetContext(ctx, &got[i], `SELECT current_setting('synchronous_commit') FROM pg_sleep(0.05)`)
			})
			if err := firstErr(errs); err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != tc.want {
					t.Fatalf("session %d: synchronous_commit=%q, want %q", i, v, tc.want)
				}
			}
			if warned := strings.Contains(logs.String(), "asynchronous commit requested"); warned != tc.wantWarn {
				t.Fatalf("warning logged: %v, want %v; log:\n%s", warned, tc.wantWarn, logs.String())
			}
		})
	}
}

// PgBouncer in transaction mode (before 1.21) cannot keep a protocol-level
// named prepared statement: the next transaction may run on another server
// connection, where the name is missing or means another client's
// statement. lib/pq with binary_parameters=yes sends every parameterized
// query as an unnamed statement; the hot path's SQL PREPAREs are named by
// a hash of their text (prepared.go), so a name found on a shared server
// connection always means the same statement. This checks that no store
// operation leaves any other named statement.
func TestStoreLeavesNoNamedPreparedStatements(t *testing.T) {
	for _, tc := range []struct {
		param   string
		wantSQL bool
	}{{"", true}, {"&" + PrepareParam + "=off", false}, {"&" + PrepareParam + "=on", true}} {
		t.Run("param="+tc.param, func(t *testing.T) {
			st := namedStatementsAfterEveryOperation(t, pgtest.DSN(t)+tc.param)
			if st.protocol != 0 || st.other != 0 {
				t.Fatalf("%d protocol-level and %d other named statements left in the session; want none", st.protocol, st.other)
			}
			if (st.hashed > 0) != tc.wantSQL {
				t.Fatalf("%d content-addressed statements prepared; want some: %v", st.hashed, tc.wantSQL)
			}
		})
	}
}

type sessionStatements struct{ protocol, hashed, other int }

func namedStatementsAfterEveryOperation(t *testing.T, dsn string) sessionStatements {
	s, rs := openOneConnWithRow(t, dsn)
	k := rs.Key
	rs.State = "init_exchange"
	rs, err := s.Update(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRecordingNonce(ctx, rs, FlowReceived, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordNonceOnce(ctx, k, FlowSent, "n2"); err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "peer"})
	if _, err := s.ApplySteps(ctx, []Step{{Key: other.Key, Next: other, Write: true, Received: "n3"},
		{Key: k, Sent: "n4"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BumpCycles(ctx, k, s.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Summary(ctx, "self", 10); err != nil {
		t.Fatal(err)
	}
	var st sessionStatements
	err = s.w.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE NOT from_sql),
			count(*) FILTER (WHERE from_sql AND name LIKE 'hsfleet\_%' AND statement LIKE 'PREPARE hsfleet\_% AS %'),
			count(*) FILTER (WHERE from_sql AND NOT (name LIKE 'hsfleet\_%' AND statement LIKE 'PREPARE hsfleet\_% AS %'))
		FROM pg_prepared_statements`).Scan(&st.protocol, &st.hashed, &st.other)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// An agent that stops using the database gives its connections back.
func TestIdleConnectionsAreClosed(t *testing.T) {
	saved := connMaxIdleTime
	connMaxIdleTime = 200 * time.Millisecond
	defer func() { connMaxIdleTime = saved }()
	dsn := pgtest.DSN(t)
	s, err := OpenWithOptions(ctx, dsn, Options{Logger: quietLogger(), MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Hold both connections at once, then hand them back to the pool idle.
	for _, c := range holdConns(t, s, 2) {
		c.Close()
	}
	if got := s.w.Stats().OpenConnections; got != 2 {
		t.Fatalf("%d open connections after holding two, want 2", got)
	}
	deadline := time.Now().Add(30 * time.Second) // the pool's cleaner runs about once a second
	for s.w.Stats().OpenConnections > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after 30 s idle", s.w.Stats().OpenConnections)
		}
		time.Sleep(100 * time.Millisecond)
	}
	direct, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	// A closed session leaves pg_stat_activity once its backend has exited.
	for {
		var server int
		if err := direct.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&server); err != nil {
			t.Fatal(err)
		}
		if server == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still has %d sessions for the store's database", server)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func holdConns(t *testing.T, s *Store, n int) []*sql.Conn {
	t.Helper()
	var conns []*sql.Conn
	for i := 0; i < n; i++ {
		c, err := s.w.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	return conns
}
