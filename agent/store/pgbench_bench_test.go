package store

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// pgbenchScript is the reference the compare-and-set transition is held to
// (issue 11): one single-row UPDATE per transaction, each client on its own
// row, as each benchmark writer owns one conversation.
const pgbenchScript = "UPDATE pgbench_ref SET v = v + 1 WHERE id = :client_id;\n"

// benchPgbench runs PostgreSQL's own pgbench (simple query protocol, one
// thread, clients connections) against the store's database for b.N
// transactions, so the store's figures in the same run have a reference
// taken on the same server, under the same load:
//
//	go test -run '^$' -bench 'BenchmarkStore/(pgbench|transition)' -count 4 ./agent/store/
//
// ops/s of transition-8-writers divided by this one's is the share of
// pgbench that docs/database.md reports.
func benchPgbench(b *testing.B, s *Store, dsn string, clients int) {
	if s.dialect != DialectPostgres {
		b.Skip("pgbench needs PostgreSQL")
	}
	dir, err := pgtest.BinDir()
	if err != nil {
		b.Skip(err)
	}
	bin, err := pgbenchBinary(dir)
	if err != nil {
		b.Skipf("pgbench: %v", err)
	}
	if _, err := s.w.Exec(`CREATE TABLE IF NOT EXISTS pgbench_ref (id int PRIMARY KEY, v bigint NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO pgbench_ref SELECT g, 0 FROM generate_series(1, $1) g ON CONFLICT DO NOTHING`, clients); err != nil {
		b.Fatal(err)
	}
	script := filepath.Join(b.TempDir(), "update.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		b.Fatal(err)
	}
	perClient := (b.N + clients - 1) / clients
	cmd := exec.Command(bin, "-n", "-c", strconv.Itoa(clients), "-j", "1", "-M", "simple",
		"-t", strconv.Itoa(perClient), "-f", script, libpqURI(b, dsn))
	m := startCPUMeter(s.backendPID())
	b.ResetTimer()
	out, err := cmd.CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	n := perClient * clients
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ops/s")
	m.report(b, n)
	// The store's process did not run pgbench's client work: report the
	// child's CPU instead of getrusage(SELF)'s.
	if st := cmd.ProcessState; st != nil {
		b.ReportMetric(float64((st.UserTime()+st.SystemTime())/time.Microsecond)/float64(n), "cli-µs/op")
	}
}

// pgbenchBinary is pgbench next to initdb, following a symlinked initdb
// (e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb).
func pgbenchBinary(binDir string) (string, error) {
	initdb, err := filepath.EvalSymlinks(filepath.Join(binDir, "initdb"))
	if err != nil {
		return "", err
	}
	for _, dir := range []string{binDir, filepath.Dir(initdb)} {
		if _, err := os.Stat(filepath.Join(dir, "pgbench")); err == nil {
			return filepath.Join(dir, "pgbench"), nil
		}
	}
	return exec.LookPath("pgbench")
}

// libpqURI keeps only what libpq understands of a store DSN.
func libpqURI(b *testing.B, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{}
	for _, k := range []string{"sslmode", "connect_timeout"} {
		if v := u.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
