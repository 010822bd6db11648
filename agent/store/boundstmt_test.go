package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBindLiteralsReplacesParametersOnly(t *testing.T) {
	ts := time.Date(2026, 12, 6, 8, 0, 0, 123000, time.UTC)
	for _, c := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"in order and twice", `UPDATE agents SET a = CASE WHEN a < $1 THEN $1 ELSE a END WHERE id = $2`, []any{ts, "x"},
			`UPDATE agents SET a = CASE WHEN a < '2026-12-06 08:00:00.000123Z' THEN '2026-12-06 08:00:00.000123Z' ELSE a END WHERE id = 'x'`},
		{"$10 is not $1", `SELECT $1, $10`, []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, `SELECT 1, 10`},
		{"quoted text is kept", `SELECT '$1', "$1", 'it''s $2', $1 WHERE f <> 'hs'`, []any{"a"}, `SELECT '$1', "$1", 'it''s $2', 'a' WHERE f <> 'hs'`},
		{"a value is never read as SQL", `SELECT $1, $2`, []any{"'; DROP TABLE agents; --", "$2"}, `SELECT '''; DROP TABLE agents; --', '$2'`},
		{"a negative number after a minus", `SELECT v -$1, $2::int`, []any{-1, int64(-2)}, `SELECT v -(-1), (-2)::int`},
		{"NULL", `SELECT $1`, []any{nil}, `SELECT NULL`},
	} {
		var b strings.Builder
		if err := bindLiterals(&b, c.query, c.args); err != nil || b.String() != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, b.String(), err, c.want)
		}
	}
	for _, c := range []struct {
		name, query string
		args        []any
	}{
		{"backslash", `SELECT E'\'$1'`, []any{"a"}},
		{"line comment", `SELECT $1 -- $2`, []any{"a"}},
		{"block comment", `SELECT $1 /* $2 */`, []any{"a"}},
		{"dollar quoting", `SELECT $$a$$`, nil},
		{"unterminated quote", `SELECT 'a, $1`, []any{"a"}},
		{"too few arguments", `SELECT $2`, []any{"a"}},
		{"too many arguments", `SELECT $1`, []any{"a", "b"}},
		{"no literal for the type", `SELECT $1`, []any{1.5}},
	} {
		var b strings.Builder
		if err := bindLiterals(&b, c.query, c.args); err == nil {
			t.Errorf("%s: %q bound as %q, want refused", c.name, c.query, b.String())
		}
	}
}

// The agent's calls other than the hot statements go, under a deadline, as
// one message with literals. Their results must be what the protocol
// parameters gave: values that look like SQL or array syntax included.
func TestAgentCallsWithADeadlineKeepTheirResults(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		s := openTestStore(t, dsn, nil)
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
		odd := `o'brien \ {a,"b"} $1 -- x`
		a := Agent{SelfID: "self", Name: odd, Namespace: "ns$2", SignPub: `\x00`, KxPub: "k", SoftwareVersion: "v1",
			StartedAt: t0, LastSeenAt: t0}
		if err := s.UpsertAgent(c, a); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetAgent(c, "self"); err != nil || got != a {
			t.Fatalf("GetAgent = %+v, %v; want %+v", got, err, a)
		}
		for _, at := range []time.Time{t0.Add(time.Minute), t0} { // forward, then never back
			if err := s.TouchAgent(c, "self", at); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.GetAgent(c, "self"); !got.LastSeenAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("last_seen_at %v, want %v", got.LastSeenAt, t0.Add(time.Minute))
		}
		if err := s.TouchAgent(c, "nobody", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TouchAgent(unknown): %v, want ErrNotFound", err)
		}

		peers := []string{odd, `{x,y}`, `"q"`, "NULL", "plain"}
		res, err := s.EnsureRoles(c, "self", peers, testDefaults)
		if err != nil || res.Created != 2*len(peers) || len(res.Rows) != 2*len(peers) {
			t.Fatalf("EnsureRoles: created %d of %d rows, %v; want %d created", res.Created, len(res.Rows), err, 2*len(peers))
		}
		listed, err := s.List(c, "self")
		if err != nil || len(listed) != 2*len(peers) {
			t.Fatalf("List: %d rows, %v; want %d", len(listed), err, 2*len(peers))
		}
		byPeer := map[string]int{}
		for _, rs := range listed {
			byPeer[rs.PeerID]++
		}
		for _, p := range peers {
			if byPeer[p] != 2 {
				t.Errorf("peer %q has %d rows, want 2", p, byPeer[p])
			}
		}
		if again, err := s.EnsureRoles(c, "self", peers, testDefaults); err != nil || again.Created != 0 {
			t.Fatalf("EnsureRoles again: created %d, %v; want 0", again.Created, err)
		}

		k := Key{SelfID: "self", Role: Responder, PeerID: odd}
		if _, err := s.RecordNonceOnce(c, k, FlowReceived, "n"); err != nil {
			t.Fatal(err)
		}
		if gone, err := s.DeleteUnusedRole(c, k, 1); err != nil || !gone {
			t.Fatalf("DeleteUnusedRole: %v, %v; want deleted", gone, err)
		}
		if _, err := s.Get(c, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("row after DeleteUnusedRole: %v, want ErrNotFound", err)
		}
		if seen, err := s.NonceExists(c, k, FlowReceived, "n"); err != nil || seen {
			t.Fatalf("pair nonce after DeleteUnusedRole: %v, %v; want gone", seen, err)
		}
	})
}

// The agent's heartbeat (TouchAgent) and its start-up upsert, blocked by a
// lock on its agents row, end at the deadline as timeouts: counted as
// result="timeout", not as the failure lib/pq's cancel used to make of
// them. With prepared statements (literals) on, the server ends them and
// the connection is kept; with hsfleet_prepare=off the socket does.
func TestAgentRowCallBlockedByALockIsATimeout(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		for _, call := range []struct {
			op string
			fn func(s *Store, c context.Context) error
		}{
			{"touch_agent", func(s *Store, c context.Context) error {
				return s.TouchAgent(c, "self", time.Now())
			}},
			{"upsert_agent", func(s *Store, c context.Context) error {
				return s.UpsertAgent(c, Agent{SelfID: "self", Name: "restarted"})
			}},
		} {
			t.Run(call.op, func(t *testing.T) {
				s := openOneConnStore(t, dsn)
				if err := s.UpsertAgent(ctx, Agent{SelfID: "self", Name: "alice"}); err != nil {
					t.Fatal(err)
				}
				release := holdLock(t, dsn, `SELECT 1 FROM agents WHERE self_id = $1 FOR UPDATE`, "self")
				timeouts, failures := counted(call.op, "timeout"), counted(call.op, "error")
				byServer, bySocket := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket)
				pid := s.backendPID()

				timedCall(t, call.op, func(c context.Context) error { return call.fn(s, c) })

				if got := counted(call.op, "timeout"); got != timeouts+1 {
					t.Errorf("%s timeouts counted %v, want %v", call.op, got, timeouts+1)
				}
				if got := counted(call.op, "error"); got != failures {
					t.Errorf("%s failures counted %v, want %v", call.op, got, failures)
				}
				wantServer, wantSocket := byServer+1, bySocket
				if name == "postgres-unprepared" {
					wantServer, wantSocket = byServer, bySocket+1
				}
				if gs, gk := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket); gs != wantServer || gk != wantSocket {
					t.Errorf("timeouts ended by server %v, by socket %v; want %v, %v", gs, gk, wantServer, wantSocket)
				}
				// Behind PgBouncer the server connection may change anyway.
				if got := s.backendPID(); name == DialectPostgres && got != pid {
					t.Errorf("backend %d replaced by %d after a timeout the server ended", pid, got)
				} else if name == "postgres-unprepared" && got == pid {
					t.Errorf("the connection whose call timed out at the socket (backend %d) was reused", pid)
				}
				release()

				c, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				later := time.Now().Add(time.Hour)
				if err := s.TouchAgent(c, "self", later); err != nil {
					t.Fatalf("TouchAgent after the lock: %v", err)
				}
				if got, err := s.GetAgent(c, "self"); err != nil || !got.LastSeenAt.Equal(normTime(later)) {
					t.Fatalf("last_seen_at after the lock: %v, %v; want %v", got.LastSeenAt, err, normTime(later))
				}
			})
		}
	})
}

// A group commit batch with one key twice runs as a transaction of
// statements (not the one-statement batch). Blocked by a row lock, it ends
// at the server's timeout, set once for the transaction whatever
// hsfleet_prepare is: a timeout, nothing applied, the connection kept.
func TestBatchTransactionEndedByTheServerKeepsTheConnection(t *testing.T) {
	forEachPostgres(t, func(t *testing.T, name, dsn string) {
		s := openOneConnStore(t, dsn)
		locked := mustCreate(t, s, Key{SelfID: "self", Role: Responder, PeerID: "locked"})
		steps := []Step{stepFor(locked, "resp_exchange"), {Key: locked.Key, Sent: "n-sent"}}
		release := holdRowLock(t, dsn, locked.Key)
		byServer, bySocket := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket)
		pid := s.backendPID()

		timedCall(t, "ApplySteps", func(c context.Context) error { _, err := s.ApplySteps(c, steps); return err })

		if gs, gk := timeoutsEndedBy(endedByServer), timeoutsEndedBy(endedBySocket); gs != byServer+1 || gk != bySocket {
			t.Errorf("timeouts ended by server %v, by socket %v; want %v, %v", gs, gk, byServer+1, bySocket)
		}
		if got := s.backendPID(); name != "pgbouncer" && got != pid {
			t.Errorf("backend %d replaced by %d after a timeout the server ended", pid, got)
		}
		release()
		if logged(t, s, locked.Key, FlowSent, "n-sent") {
			t.Fatal("the timed-out transaction logged a nonce")
		}

		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, err := s.ApplySteps(c, steps)
		if err != nil || res[0].Err != nil || res[0].Row.Version != locked.Version+1 {
			t.Fatalf("the same batch after the lock: %+v, %v; want the row written", res, err)
		}
		if !logged(t, s, locked.Key, FlowSent, "n-sent") {
			t.Fatal("the batch after the lock did not log its nonce")
		}
	})
}
