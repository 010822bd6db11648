package store

import (
	"slices"
	"testing"
)

// schemaObjects lists the tables and indexes the database holds.
func schemaObjects(t *testing.T, s *Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.Dialect() == DialectPostgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
			UNION ALL SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'
			ORDER BY 1`
	}
	var names []string
	if err := s.w.SelectContext(ctx, &names, q); err != nil {
		t.Fatal(err)
	}
	return names
}

var wantSchema = []string{
	"agents", "ix_nonce_event_created", "ix_nonce_event_hs_self", "ix_nonce_event_peer", "ix_role_state_peer", "ix_role_state_recent",
	"nonce_event", "role_state", "schema_version", "uq_nonce_event", "uq_role_peer",
}

func TestConcurrentMigrationsEndInOneCorrectSchema(t *testing.T) {
	for _, d := range dialectDSN {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.dsn(t)
			const openers = 10
			stores := make([]*Store, openers)
			errs := race(openers, func(i int) (err error) {
				stores[i], err = OpenWithOptions(ctx, dsn, Options{Logger: quietLogger(), MaxOpenConns: 2})
				return err
			})
			for _, s := range stores {
				if s != nil {
					t.Cleanup(func() { s.Close() })
				}
			}
			if err := firstErr(errs); err != nil {
				t.Fatal(err)
			}
			ms, err := loadMigrations(d.dialect)
			if err != nil {
				t.Fatal(err)
			}
			var versions []int
			if err := stores[0].w.SelectContext(ctx, &versions, `SELECT version FROM schema_version ORDER BY version`); err != nil {
				t.Fatal(err)
			}
			if len(versions) != len(ms) || versions[len(versions)-1] != len(ms) {
				t.Fatalf("schema_version rows %v; want each of 1..%d exactly once", versions, len(ms))
			}
			if got := schemaObjects(t, stores[0]); !slices.Equal(got, wantSchema) {
				t.Fatalf("schema objects\n got %v\nwant %v", got, wantSchema)
			}
			v, err := stores[openers-1].SchemaVersion(ctx)
			if err != nil || v != len(ms) {
				t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
			}
			// Re-opening is a no-op that keeps the data.
			k := Key{SelfID: "a", Role: Initiator, PeerID: "b"}
			if _, err := stores[0].GetOrCreate(ctx, k, "init_ready"); err != nil {
				t.Fatal(err)
			}
			again := openTestStore(t, dsn, nil)
			if _, err := again.Get(ctx, k); err != nil {
				t.Fatalf("row lost on re-open: %v", err)
			}
		})
	}
}

func TestMigrationFilesAreContiguousForBothDialects(t *testing.T) {
	pg, err := loadMigrations(DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := loadMigrations(DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("%d postgres and %d sqlite migrations; each version needs both", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].name != lite[i].name {
			t.Errorf("migration %d is %q on postgres but %q on sqlite", i+1, pg[i].name, lite[i].name)
		}
	}
}
