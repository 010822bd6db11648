package store

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestPostgresDSNFillsSessionDefaultsTheDSNLeavesOpen(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dsn        string
		async      bool
		wantBinary string
		wantSync   string // "" = parameter absent
		wantKept   map[string]string
	}{
		{"binary parameters added", "postgres://u:p@h:5432/db?sslmode=disable", false, "yes", "", map[string]string{"sslmode": "disable"}},
		{"explicit binary_parameters=no kept", "postgres://h/db?binary_parameters=no", false, "no", "", nil},
		{"async commit adds synchronous_commit=off", "postgresql://h/db", true, "yes", "off", nil},
		{"DSN's synchronous_commit wins over AsyncCommit", "postgres://h/db?synchronous_commit=on", true, "yes", "on", nil},
		{"durable default adds no synchronous_commit", "postgres://h/db", false, "yes", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := postgresDSN(tc.dsn, Options{AsyncCommit: tc.async})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("binary_parameters") != tc.wantBinary || q.Get("synchronous_commit") != tc.wantSync {
				t.Fatalf("%s: binary_parameters=%q synchronous_commit=%q; want %q, %q", got,
					q.Get("binary_parameters"), q.Get("synchronous_commit"), tc.wantBinary, tc.wantSync)
			}
			for k, v := range tc.wantKept {
				if q.Get(k) != v {
					t.Fatalf("%s: %s=%q, want %q kept", got, k, q.Get(k), v)
				}
			}
			if orig, _ := url.Parse(tc.dsn); u.User.String() != orig.User.String() || u.Host != orig.Host || u.Path != orig.Path {
				t.Fatalf("%s: user, host or database changed from %s", got, tc.dsn)
			}
		})
	}
}

func TestPostgresDSNRejectsANonURLWithoutEchoingIt(t *testing.T) {
	_, err := postgresDSN("postgres://u:secret@h:5432/db\x7f", Options{})
	if !errors.Is(err, ErrUnsupportedDSN) {
		t.Fatalf("err %v, want ErrUnsupportedDSN", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %q leaks the password", err)
	}
}

// AsyncCommit must reach every pooled session, not just the first one; the
// durable default must leave the server's own setting alone (pg_settings
// source "client" means the session start-up packet set it).
func TestAsyncCommitAppliesToEveryPostgresSession(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, tc := range []struct {
		name       string
		dsnSuffix  string
		async      bool
		wantValue  string // "" = whatever the server is configured with
		wantClient bool
	}{
		{"default leaves the server setting", "", false, "", false},
		{"async commit turns it off", "", true, "off", true},
		{"DSN setting wins over async commit", "&synchronous_commit=on", true, "on", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenWithOptions(context.Background(), dsn+tc.dsnSuffix, Options{Logger: quietLogger(), MaxOpenConns: 4, AsyncCommit: tc.async})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Hold 4 connections at once so the pool has to open 4 sessions.
			type setting struct {
				Value  string `db:"setting"`
				Source string `db:"source"`
			}
			var wg sync.WaitGroup
			got := make([]setting, 4)
			errs := make([]error, 4)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.w.GetContext(ctx, &got[i], `SELECT setting, source FROM pg_settings, pg_sleep(0.05)
						WHERE name = 'synchronous_commit'`)
				}()
			}
			wg.Wait()
			for i, g := range got {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if (tc.wantValue != "" && g.Value != tc.wantValue) || (g.Source == "client") != tc.wantClient {
					t.Fatalf("session %d: synchronous_commit=%q from %q; want %q, set by the client: %v", i, g.Value, g.Source, tc.wantValue, tc.wantClient)
				}
			}
		})
	}
}

// The DSN comes from a Secret: whatever it holds, postgresDSN must not
// panic, and what it returns must still parse with the defaults in place.
func FuzzPostgresDSN(f *testing.F) {
	for _, seed := range []string{
		"postgres://u:p@h:5432/db?sslmode=disable",
		"postgresql://h/db?binary_parameters=no&synchronous_commit=on",
		"postgres://[::1]:5432/db?options=-c%20statement_timeout%3D5s",
		"postgres://h/db?%zz",
		"postgres://u:p%40ss@h/db#frag",
		"postgres://h/db?a=1&a=2",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, dsn string, async bool) {
		got, err := postgresDSN(dsn, Options{AsyncCommit: async})
		if err != nil {
			if !errors.Is(err, ErrUnsupportedDSN) {
				t.Fatalf("error %v is not ErrUnsupportedDSN", err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("output %q does not parse: %v", got, err)
		}
		// A parameter the DSN sets (even to "") is the operator's choice.
		in, _ := url.Parse(dsn)
		set := in.Query()
		q := u.Query()
		if !set.Has("binary_parameters") && q.Get("binary_parameters") != "yes" {
			t.Fatalf("output %q lacks binary_parameters=yes", got)
		}
		if async && !set.Has("synchronous_commit") && q.Get("synchronous_commit") != "off" {
			t.Fatalf("output %q lacks synchronous_commit=off", got)
		}
	})
}
