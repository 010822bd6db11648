package store

import (
	"fmt"
	"os"
	"testing"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// BenchmarkCreateRows: one agent of a 100-agent fleet creating its 198
// rows (99 peers, both roles) on a durable server, as one EnsureRoles call
// or as a GetOrCreate per row (what conversations did as peers appeared).
// One op is one agent's whole start; each op uses a fresh self ID.
//
//	go test -run '^$' -bench BenchmarkCreateRows ./agent/store/
func BenchmarkCreateRows(b *testing.B) {
	const peers = 99
	var dsn string
	if os.Getenv(pgtest.EnvDSN) != "" {
		dsn = pgtest.DSN(b)
	} else {
		dsn = pgtest.NewCluster(b, pgtest.ClusterOptions{Durable: true}).NewDatabase(b)
	}
	s := openBenchStore(b, dsn, false)
	ids := make([]string, peers)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%03d", i)
	}
	var agent int // a fresh self ID for every op of every run
	b.Run("ensure-roles", func(b *testing.B) {
		m := startCPUMeter(s.backendPID())
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res, err := s.EnsureRoles(ctx, fmt.Sprintf("agent-er-%d", agent), ids, testDefaults)
			agent++
			if err != nil || res.Created != 2*peers {
				b.Fatalf("created %d rows, %v", res.Created, err)
			}
		}
		b.StopTimer()
		m.report(b, b.N)
	})
	b.Run("get-or-create-each", func(b *testing.B) {
		m := startCPUMeter(s.backendPID())
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			self := fmt.Sprintf("agent-goc-%d", agent)
			agent++
			for _, p := range ids {
				for _, r := range []Role{Initiator, Responder} {
					if _, err := s.GetOrCreate(ctx, Key{SelfID: self, Role: r, PeerID: p}, testDefaults.of(r)); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.StopTimer()
		m.report(b, b.N)
	})
}
