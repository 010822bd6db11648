package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clock is a settable Store clock, so TTL and ordering tests need no sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 26, 9, 0, 0, 123456789, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// dialectDSN returns a fresh, empty database of each dialect.
// PostgreSQL runs three times: directly, through PgBouncer in transaction
// pooling mode (consecutive statements may use different server sessions;
// the hot statements are prepared per server connection as they are
// found missing), and directly with prepared statements off.
var dialectDSN = []struct {
	name, dialect string
	dsn           func(t testing.TB) string
}{
	{DialectPostgres, DialectPostgres, pgtest.DSN},
	{"pgbouncer", DialectPostgres, pgtest.BouncerDSN},
	{"postgres-unprepared", DialectPostgres, func(t testing.TB) string { return pgtest.DSN(t) + "&" + PrepareParam + "=off" }},
	{DialectSQLite, DialectSQLite, func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "hsfleet.db") }},
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTestStore(t testing.TB, dsn string, clk *clock) *Store {
	t.Helper()
	opts := Options{Logger: quietLogger(), MaxOpenConns: 16}
	if clk != nil {
		opts.Now = clk.Now
	}
	s, err := OpenWithOptions(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// forEachDialect runs fn as a subtest against a fresh store of each
// dialect, with its own clock.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *Store, clk *clock)) {
	t.Helper()
	for _, d := range dialectDSN {
		t.Run(d.name, func(t *testing.T) {
			clk := newClock()
			s := openTestStore(t, d.dsn(t), clk)
			if s.Dialect() != d.dialect {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), d.dialect)
			}
			fn(t, s, clk)
		})
	}
}

func ptr[T any](v T) *T { return &v }

var ctx = context.Background()
