package store

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	dto "github.com/prometheus/client_model/go"
)

var testDefaults = RoleDefaults{Initiator: "init_ready", Responder: "resp_ready"}

func TestEnsureRolesCreatesBothRolesOfEveryPeerOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		bad := []string{"", "nul\x00peer", strings.Repeat("p", maxIDLen+1), "\xff\xfe"}
		peers := append([]string{"b", "self", "a", "b"}, bad...)
		rejected := rejectedCount(t, s.Dialect())
		res, err := s.EnsureRoles(ctx, "self", peers, testDefaults)
		if err != nil {
			t.Fatal(err)
		}
		want := []Key{{"self", Initiator, "a"}, {"self", Initiator, "b"}, {"self", Responder, "a"}, {"self", Responder, "b"}}
		if got := keysOf(res.Rows); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		if res.Created != 4 {
			t.Fatalf("created %d, want 4", res.Created)
		}
		for _, rs := range res.Rows {
			if rs.Version != 1 || rs.State != testDefaults.of(rs.Role) || rs.Cycles != 0 {
				t.Fatalf("new row %s: version %d state %q cycles %d", rs.label(), rs.Version, rs.State, rs.Cycles)
			}
		}
		if len(res.Rejected) != len(bad) {
			t.Fatalf("rejected %v, want the %d bad peers", res.Rejected, len(bad))
		}
		for i, r := range res.Rejected {
			if r.PeerID != bad[i] || !errors.Is(r.Err, ErrInvalid) {
				t.Fatalf("rejected[%d] = %q %v, want %q and ErrInvalid", i, r.PeerID, r.Err, bad[i])
			}
		}
		if d := rejectedCount(t, s.Dialect()) - rejected; d != float64(len(bad)) {
			t.Fatalf("rejected-peers metric moved by %v, want %d", d, len(bad))
		}
		listed, err := s.List(ctx, "self")
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != 4 {
			t.Fatalf("List after EnsureRoles: %d rows, want 4 (nothing for self or rejected peers)", len(listed))
		}
		again, err := s.EnsureRoles(ctx, "self", []string{"a", "b"}, testDefaults)
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 || len(again.Rejected) != 0 || !reflect.DeepEqual(again.Rows, res.Rows) {
			t.Fatalf("second call: created %d rejected %v rows %+v; want the same rows, none created", again.Created, again.Rejected, again.Rows)
		}
	})
}

func keysOf(rows []RoleState) []Key {
	out := make([]Key, len(rows))
	for i, r := range rows {
		out[i] = r.Key
	}
	return out
}

func TestEnsureRolesLeavesExistingRowsAlone(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, clk *clock) {
		k := Key{SelfID: "self", Role: Responder, PeerID: "a"}
		rs, err := s.GetOrCreate(ctx, k, "resp_ready")
		if err != nil {
			t.Fatal(err)
		}
		rs.State, rs.ExchangeCount, rs.PeerNonce = "resp_wait_conclude", 3, ptr("n-1")
		if rs, err = s.Update(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BumpCycles(ctx, k, clk.Now()); err != nil {
			t.Fatal(err)
		}
		before, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		res, err := s.EnsureRoles(ctx, "self", []string{"a"}, testDefaults)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 1 || len(res.Rows) != 2 {
			t.Fatalf("created %d of %d rows, want 1 of 2 (only the initiator row was missing)", res.Created, len(res.Rows))
		}
		got := res.Rows[1]
		if !reflect.DeepEqual(got, before) {
			t.Fatalf("existing row changed or misread:\n got %+v\nwant %+v", got, before)
		}
		if after, err := s.Get(ctx, k); err != nil || !reflect.DeepEqual(after, before) {
			t.Fatalf("stored row after EnsureRoles: %+v, %v; want %+v", after, err, before)
		}
	})
}

// Agents restarting while their old process still runs, and conversations
// loading rows one by one, all create the same rows at once: nobody
// fails or deadlocks, and everybody sees the one row of each key.
func TestEnsureRolesRacesWithItselfAndGetOrCreate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		peers := make([]string, 40)
		for i := range peers {
			peers[i] = fmt.Sprintf("peer-%02d", i)
		}
		const ensurers = 6
		seen := make([]map[Key]int64, 2*ensurers) // version per key, per goroutine
		created := make([]int, 2*ensurers)
		errs := race(2*ensurers, func(i int) error {
			seen[i] = map[Key]int64{}
			if i < ensurers {
				// Each caller lists the peers in its own order.
				p := append([]string(nil), peers...)
				rand.New(rand.NewSource(int64(i))).Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
				res, err := s.EnsureRoles(ctx, "self", p, testDefaults)
				if err != nil {
					return err
				}
				created[i] = res.Created
				for _, rs := range res.Rows {
					seen[i][rs.Key] = rs.Version
				}
				return nil
			}
			for j := range peers {
				p := peers[(j*7+i)%len(peers)]
				for _, role := range []Role{Responder, Initiator} {
					rs, err := s.GetOrCreate(ctx, Key{"self", role, p}, testDefaults.of(role))
					if err != nil {
						return err
					}
					seen[i][rs.Key] = rs.Version
				}
			}
			return nil
		})
		if err := firstErr(errs); err != nil {
			t.Fatal(err)
		}
		total := 0
		for i := range seen {
			if len(seen[i]) != 2*len(peers) {
				t.Fatalf("goroutine %d saw %d rows, want %d", i, len(seen[i]), 2*len(peers))
			}
			for k, v := range seen[i] {
				if v != 1 {
					t.Fatalf("goroutine %d: %s at version %d, want 1", i, k.label(), v)
				}
			}
			total += created[i]
		}
		if total > 2*len(peers) {
			t.Fatalf("EnsureRoles callers report %d rows created, more than the %d keys", total, 2*len(peers))
		}
		listed, err := s.List(ctx, "self")
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != 2*len(peers) {
			t.Fatalf("%d rows stored, want %d", len(listed), 2*len(peers))
		}
	})
}

// A trust bundle larger than one statement's chunk is still created whole.
func TestEnsureRolesChunksLargePeerLists(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		peers := make([]string, ensureChunk+7)
		for i := range peers {
			peers[i] = fmt.Sprintf("agent-%05d", i)
		}
		res, err := s.EnsureRoles(ctx, "self", peers, testDefaults)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 2*len(peers) || len(res.Rows) != 2*len(peers) {
			t.Fatalf("created %d, returned %d rows; want %d", res.Created, len(res.Rows), 2*len(peers))
		}
		for i := 1; i < len(res.Rows); i++ {
			if !keyLess(res.Rows[i-1].Key, res.Rows[i].Key) {
				t.Fatalf("rows out of order at %d: %s then %s", i, res.Rows[i-1].label(), res.Rows[i].label())
			}
		}
	})
}

func TestEnsureRolesRejectsBadSelfAndStates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store, _ *clock) {
		for name, call := range map[string]func() error{
			"empty self": func() error { _, err := s.EnsureRoles(ctx, "", []string{"a"}, testDefaults); return err },
			"NUL in self": func() error {
				_, err := s.EnsureRoles(ctx, "s\x00", []string{"a"}, testDefaults)
				return err
			},
			"no responder state": func() error {
				_, err := s.EnsureRoles(ctx, "self", []string{"a"}, RoleDefaults{Initiator: "init_ready"})
				return err
			},
		} {
			if err := call(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if rows, err := s.List(ctx, "self"); err != nil || len(rows) != 0 {
			t.Fatalf("rows after rejected calls: %d, %v", len(rows), err)
		}
		res, err := s.EnsureRoles(ctx, "self", nil, testDefaults)
		if err != nil || len(res.Rows) != 0 || res.Created != 0 {
			t.Fatalf("no peers: %+v, %v", res, err)
		}
	})
}

func TestEnsureRolesAfterClose(t *testing.T) {
	s := openTestStore(t, "sqlite::memory:", nil)
	s.Close()
	if _, err := s.EnsureRoles(ctx, "self", []string{"a"}, testDefaults); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func rejectedCount(t *testing.T, dialect string) float64 {
	t.Helper()
	var m dto.Metric
	if err := rejectedPeers.WithLabelValues("ensure_roles", dialect).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// A row another transaction inserts, and commits while EnsureRoles waits
// for it, is not in EnsureRoles' snapshot: the insert yields and the read
// misses it. EnsureRoles reads it again and returns the committed row.
func TestEnsureRolesReturnsARowCommittedWhileItWaited(t *testing.T) {
	s := openTestStore(t, pgtest.DSN(t), nil)
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := s.timeArg(s.now())
	if _, err := tx.ExecContext(ctx, s.q.insertRole, "self", string(Responder), "a", "theirs", now, now); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res EnsuredRoles
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := s.EnsureRoles(ctx, "self", []string{"a"}, testDefaults)
		done <- outcome{res, err}
	}()
	waitForLockWait(t, s, "WITH inp AS%")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.Created != 1 || len(o.res.Rows) != 2 {
		t.Fatalf("created %d, %d rows; want 1 created and both rows", o.res.Created, len(o.res.Rows))
	}
	if r := o.res.Rows[1]; r.Role != Responder || r.State != "theirs" {
		t.Fatalf("responder row %+v, want the other transaction's (state theirs)", r)
	}
}

// waitForLockWait waits until a session of s's database runs a statement
// like pattern and waits for a lock.
func waitForLockWait(t *testing.T, s *Store, pattern string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := s.r.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session waiting for a lock in %q after 10 s", pattern)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
