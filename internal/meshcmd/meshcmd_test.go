package meshcmd

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// seed writes a 3-agent mesh through the store's own API: alice<->bob
// cycling and sealed, bob->carol stale, carol never started a cycle.
func seed(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenWithOptions(ctx, dsn, store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, name := range map[string]string{"id-a": "alice", "id-b": "bob", "id-c": "carol"} {
		if err := st.UpsertAgent(ctx, store.Agent{SelfID: id, Name: name, StartedAt: t0, LastSeenAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	pair := func(ini, resp string, cycles int, last time.Time, sealed bool) {
		for _, k := range []store.Key{{SelfID: ini, Role: store.Initiator, PeerID: resp}, {SelfID: resp, Role: store.Responder, PeerID: ini}} {
			rs, err := st.GetOrCreate(ctx, k, "ready")
			if err != nil {
				t.Fatal(err)
			}
			if sealed {
				rs.HSDerivedAt, rs.LastSecureAt = &last, &last
				if _, err := st.Update(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < cycles; i++ { // sealed pairs' cycles are verified ones, the others' not (Python, open mode)
				if r, err := st.ApplySteps(ctx, []store.Step{{Key: k, CycleAt: &last, Verified: sealed}}); err != nil || r[0].Err != nil {
					t.Fatal(err, r)
				}
			}
		}
	}
	pair("id-a", "id-b", 5, t0.Add(-2*time.Second), true)
	pair("id-b", "id-a", 4, t0.Add(-3*time.Second), true)
	pair("id-b", "id-c", 2, t0.Add(-10*time.Minute), true)
	pair("id-a", "id-c", 1, t0.Add(-5*time.Second), false)
	pair("id-c", "id-a", 0, time.Time{}, false)
}

func TestMeshFromDatabaseGolden(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "mesh.db")
	seed(t, dsn)
	var out bytes.Buffer
	c := Config{DB: dsn, StaleAfter: DefaultStaleAfter, Worst: 4, Color: "never", Now: func() time.Time { return t0 }}
	if err := Run(context.Background(), c, &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "mesh-db.golden")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("hsfleet mesh output differs from %s:\n--- got\n%s--- want\n%s", path, out.String(), want)
	}
}

func TestMeshRejectsBadFlags(t *testing.T) {
	for _, c := range []Config{{DB: "sqlite::memory:", StaleAfter: 0, Color: "auto"}, {DB: "sqlite::memory:", StaleAfter: time.Minute, Color: "pink"}} {
		if err := Run(context.Background(), c, &bytes.Buffer{}); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := Run(context.Background(), Config{DB: "mysql://x", StaleAfter: time.Minute, Color: "never"}, &bytes.Buffer{}); err == nil {
		t.Error("unknown DSN scheme: no error")
	}
}
