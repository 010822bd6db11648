package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDSNGivesFreshEmptyWritableDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSN calls returned the same database %q", a)
	}
	db := openDB(t, a)
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("fresh database has %d tables, want 0", tables)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := db.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
		t.Fatalf("read back %d, %v; want 42", x, err)
	}
	var other int
	if err := openDB(t, b).QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&other); err != nil || other != 0 {
		t.Fatalf("second database sees %d tables named t (%v); databases must be isolated", other, err)
	}
}

func TestDSNDropsDatabaseInCleanup(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		u, err := url.Parse(DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		if !IsTestDatabase(name) {
			t.Fatalf("database name %q lacks the hsf_ prefix", name)
		}
	})
	if shared.cluster == nil {
		t.Skip("HSFLEET_TEST_DSN is set; the server is not ours to inspect")
	}
	var n int
	err := openDB(t, shared.cluster.AdminDSN()).QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("database %s still exists after cleanup (count %d, err %v)", name, n, err)
	}
}

func TestClusterListensOnLoopbackOnlyAndSurvivesRestart(t *testing.T) {
	c := NewCluster(t, ClusterOptions{})
	db := openDB(t, c.NewDatabase(t))
	ctx := context.Background()
	var listen string
	if err := db.QueryRowContext(ctx, `SHOW listen_addresses`).Scan(&listen); err != nil || listen != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q (%v), want 127.0.0.1", listen, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(qctx); err == nil {
		t.Fatal("ping succeeded while the server was stopped")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var x int
	var err error
	for attempt := 0; attempt < 5; attempt++ { // pooled connections died with the old server
		if err = db.QueryRowContext(ctx, `SELECT x FROM kept`).Scan(&x); err == nil {
			break
		}
	}
	if err != nil || x != 7 {
		t.Fatalf("after restart read %d, %v; want 7", x, err)
	}
}

func TestDatabaseDSNRejectsNonURL(t *testing.T) {
	for _, in := range []string{"host=localhost dbname=x", "mysql://h/db", ""} {
		if _, _, err := databaseDSN(in); err == nil {
			t.Errorf("databaseDSN(%q) succeeded, want an error", in)
		}
	}
	dsn, name, err := databaseDSN("postgres://u:p@h:5/admin?sslmode=disable")
	if err != nil || !strings.HasSuffix(strings.SplitN(dsn, "?", 2)[0], "/"+name) || !strings.Contains(dsn, "sslmode=disable") {
		t.Fatalf("databaseDSN kept the wrong parts: %q %q %v", dsn, name, err)
	}
}

func TestDSNUsesTheServerNamedByTheEnvironment(t *testing.T) {
	c := NewCluster(t, ClusterOptions{})
	t.Setenv(EnvDSN, c.AdminDSN())
	var name string
	t.Run("user", func(t *testing.T) {
		dsn := DSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if u.Port() != strconv.Itoa(c.Port()) {
			t.Fatalf("DSN %s is not on the %s server (port %d)", dsn, EnvDSN, c.Port())
		}
		name = strings.TrimPrefix(u.Path, "/")
		if err := openDB(t, dsn).Ping(); err != nil {
			t.Fatal(err)
		}
	})
	var n int
	if err := openDB(t, c.AdminDSN()).QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s on the %s server not dropped (count %d, %v)", name, EnvDSN, n, err)
	}
}
