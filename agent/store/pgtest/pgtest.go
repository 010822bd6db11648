package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvDSN names the variable that points the tests at an existing server.
// Its DSN must be a postgres:// URL for a role allowed to CREATE DATABASE.
const EnvDSN = "HSFLEET_TEST_DSN"

var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// DSN returns the DSN of a fresh, empty database on a real PostgreSQL and
// drops that database in t.Cleanup.
func DSN(t testing.TB) string {
	t.Helper()
	if admin := os.Getenv(EnvDSN); admin != "" {
		return newDatabase(t, admin, "")
	}
	shared.once.Do(func() { shared.cluster, shared.err = StartCluster(ClusterOptions{}) })
	if shared.err != nil {
		t.Fatalf("%v", shared.err)
	}
	return shared.cluster.NewDatabase(t)
}

var sharedBouncer struct {
	once    sync.Once
	bouncer *Bouncer
	err     error
}

// BouncerDSN is DSN reached through a real PgBouncer in transaction pooling
// mode (one per test binary, strict: no ignored startup parameters), so a
// test proves the store keeps no session state between transactions.
func BouncerDSN(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	sharedBouncer.once.Do(func() { sharedBouncer.bouncer, sharedBouncer.err = StartBouncer(dsn, BouncerOptions{}) })
	if sharedBouncer.err != nil {
		t.Fatalf("%v", sharedBouncer.err)
	}
	return sharedBouncer.bouncer.Via(dsn)
}

// Main runs the tests and then stops the shared throwaway cluster. Call it
// from TestMain; without it the cluster still dies with the test binary
// (parent-death signal) but leaves its temp dir for the next run to reap.
func Main(m *testing.M) {
	code := m.Run()
	if sharedBouncer.bouncer != nil {
		if err := sharedBouncer.bouncer.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if shared.cluster != nil {
		if err := shared.cluster.Destroy(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

const adminTimeout = 30 * time.Second

// newDatabase creates the database with CREATE DATABASE ... <createSuffix>.
func newDatabase(t testing.TB, adminDSN, createSuffix string) string {
	t.Helper()
	dsn, name, err := databaseDSN(adminDSN)
	if err != nil {
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := adminExec(ctx, adminDSN, "CREATE DATABASE "+name+createSuffix); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		// FORCE ends sessions a test left open (PostgreSQL 13+).
		if err := adminExec(ctx, adminDSN, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// databaseDSN derives, from an admin DSN, the DSN of a new randomly named
// database (hsf_<16 hex>) on the same server.
func databaseDSN(adminDSN string) (dsn, name string, err error) {
	u, err := url.Parse(adminDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvDSN)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("pgtest: %w", err)
	}
	name = "hsf_" + hex.EncodeToString(b[:])
	u.Path = "/" + name
	return u.String(), name, nil
}

func adminExec(ctx context.Context, adminDSN, stmt string) error {
	db, err := sql.Open("postgres", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// IsTestDatabase reports whether a database name was made by this package.
func IsTestDatabase(name string) bool { return strings.HasPrefix(name, "hsf_") }
