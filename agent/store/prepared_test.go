package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func TestPrepareParamIsStrippedOrRejected(t *testing.T) {
	for _, tc := range []struct {
		dsn, want   string
		wantPrepare bool
		wantErr     bool
	}{
		{"postgres://h/db?sslmode=disable", "postgres://h/db?sslmode=disable", true, false},
		{"postgres://h/db?hsfleet_prepare=on&sslmode=disable", "postgres://h/db?sslmode=disable", true, false},
		{"postgres://h/db?hsfleet_prepare=OFF", "postgres://h/db", false, false},
		{"postgres://h/db?hsfleet_prepare=maybe", "", false, true},
	} {
		got, prepare, err := takePrepareParam(tc.dsn)
		if (err != nil) != tc.wantErr || got != tc.want || prepare != tc.wantPrepare {
			t.Errorf("takePrepareParam(%q) = %q, %v, %v; want %q, %v, error %v", tc.dsn, got, prepare, err, tc.want, tc.wantPrepare, tc.wantErr)
		}
	}
}

// The DSN comes from a Secret: takePrepareParam must never panic, and what
// it returns must parse and no longer carry the parameter.
func FuzzTakePrepareParam(f *testing.F) {
	for _, seed := range []string{
		"postgres://h/db?hsfleet_prepare=on", "postgres://h/db?hsfleet_prepare=on&hsfleet_prepare=off",
		"postgres://h/db?hsfleet_prepare=", "postgres://h/db?%zz&hsfleet_prepare=1", "postgres://h/db",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got, _, err := takePrepareParam(dsn)
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
		if u.Query().Has(PrepareParam) {
			t.Fatalf("output %q still has %s", got, PrepareParam)
		}
	})
}

// A server connection that lost its prepared statements (a restart behind
// PgBouncer, DISCARD ALL, another pool) gets them prepared again on first
// use, and the compare-and-set keeps its meaning across that.
func TestHotStatementsArePreparedAgainWhenMissing(t *testing.T) {
	s, rs := openOneConnWithRow(t, pgtest.DSN(t))
	k := rs.Key
	var err error
	for i, state := range []string{"init_exchange", "init_finalize_propose", "init_finalize_close"} {
		if _, err := s.w.Exec(`DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		stale := rs
		rs.State = state
		if rs, err = s.Update(ctx, rs); err != nil {
			t.Fatalf("update %d after DEALLOCATE ALL: %v", i, err)
		}
		if _, err := s.w.Exec(`DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, stale); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale update %d after DEALLOCATE ALL: %v, want ErrConflict", i, err)
		}
		if rs, err = s.UpdateRecordingNonce(ctx, rs, FlowReceived, fmt.Sprintf("n%d", i)); err != nil {
			t.Fatalf("update recording nonce %d: %v", i, err)
		}
		if _, err := s.w.Exec(`DEALLOCATE ALL`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateRecordingNonce(ctx, rs, FlowReceived, fmt.Sprintf("n%d", i)); !errors.Is(err, ErrReplay) {
			t.Fatalf("replayed nonce %d after DEALLOCATE ALL: %v, want ErrReplay", i, err)
		}
	}
	got, err := s.Get(ctx, k)
	if err != nil || got.State != "init_finalize_close" || got.Version != rs.Version {
		t.Fatalf("stored row %+v, %v; want state init_finalize_close at version %d", got, err, rs.Version)
	}
}

// The name of a hot statement is a function of its text only.
func TestHotStatementNameIsContentAddressed(t *testing.T) {
	a, b, c := newHotStatement("SELECT 1"), newHotStatement("SELECT 1"), newHotStatement("SELECT 2")
	if a.name != b.name || a.name == c.name || !strings.HasPrefix(a.name, "hsfleet_") || len(a.name) > 63 {
		t.Fatalf("names %q %q %q", a.name, b.name, c.name)
	}
	if _, err := a.execute(ctx, []any{1.5}); err == nil {
		t.Fatal("EXECUTE with a float argument built; want an error")
	}
}

// openOneConnWithRow opens a store on one connection (so the test sees the
// session the store uses) with one initiator row in init_ready.
func openOneConnWithRow(t *testing.T, dsn string) (*Store, RoleState) {
	s, err := OpenWithOptions(ctx, dsn, Options{Logger: quietLogger(), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rs, err := s.GetOrCreate(ctx, Key{SelfID: "self", Role: Initiator, PeerID: "peer"}, "init_ready")
	if err != nil {
		t.Fatal(err)
	}
	return s, rs
}
