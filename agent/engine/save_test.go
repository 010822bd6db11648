package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// saveFixture is one responder conversation of a real engine over a real
// store of each dialect, loaded as the conversation goroutine would.
func forEachSaveStore(t *testing.T, fn func(t *testing.T, st *store.Store, c *conv)) {
	for _, d := range []struct{ name, dsn string }{
		{"postgres", pgtest.DSN(t)},
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "a.db")},
	} {
		t.Run(d.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), d.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: chanTransport{}, Policy: trust.NewPolicy(trust.Open, nil)})
			if err != nil {
				t.Fatal(err)
			}
			c := newConv(e, protocol.Responder, "peer-b")
			if err := c.reload(); err != nil {
				t.Fatal("load conversation")
			}
			fn(t, st, c)
		})
	}
}

func accepted(c *conv, state protocol.State, nonce string) protocol.Result {
	row := c.Row
	row.State, row.PeerNonce = state, nonce
	return protocol.Result{Row: row, Mem: c.Mem, Write: true, Progress: true, Effects: protocol.Effects{RecordReceived: nonce}}
}

func nonceLogged(t *testing.T, st *store.Store, c *conv, nonce string) bool {
	t.Helper()
	ok, err := st.NonceExists(context.Background(), c.key, protocol.FlowReceived, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSaveLogsTheReceivedNonceWithTheRow(t *testing.T) {
	forEachSaveStore(t, func(t *testing.T, st *store.Store, c *conv) {
		if _, err := c.save(accepted(c, protocol.StateRespConfirm, "n1"), time.Now()); err != nil {
			t.Fatalf("save: %v", err)
		}
		got, _ := st.Get(context.Background(), c.key)
		if got.State != string(protocol.StateRespConfirm) || got.Version != 2 || c.stored.Version != 2 || !nonceLogged(t, st, c, "n1") {
			t.Fatalf("stored %s v%d (conv holds v%d), nonce logged %v", got.State, got.Version, c.stored.Version, nonceLogged(t, st, c, "n1"))
		}
	})
}

func TestSaveWithAStaleRowConflictsAndLogsNoNonce(t *testing.T) {
	forEachSaveStore(t, func(t *testing.T, st *store.Store, c *conv) {
		if _, err := st.Update(context.Background(), c.stored); err != nil { // another writer
			t.Fatal(err)
		}
		if _, err := c.save(accepted(c, protocol.StateRespConfirm, "n1"), time.Now()); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err %v, want ErrConflict", err)
		}
		if nonceLogged(t, st, c, "n1") {
			t.Fatal("a lost update left the nonce marked as seen")
		}
	})
}

// A step that also clears the nonce log logs the nonce it accepted after
// the clear, in the same transaction, so the nonce survives the clear.
func TestSaveBeforeClearingTheLogLeavesTheNonceToCommit(t *testing.T) {
	forEachSaveStore(t, func(t *testing.T, st *store.Store, c *conv) {
		res := accepted(c, protocol.StateRespConfirm, "n1")
		res.DeletePairNonces = true
		if err := c.commit(res); err != nil {
			t.Fatal(err)
		}
		if !nonceLogged(t, st, c, "n1") {
			t.Fatal("nonce accepted by a log-clearing step was lost")
		}
		if found, known := c.nonces.lookup(protocol.FlowReceived, "n1"); !found || !known {
			t.Fatalf("RAM mirror: found %v known %v", found, known)
		}
	})
}

// Another process saved the same delivery first: the RAM mirror did not
// know, the store refuses it, and the step is counted as a replay with the
// row untouched.
func TestStepRejectsADeliveryAnotherWriterLoggedFirst(t *testing.T) {
	forEachSaveStore(t, func(t *testing.T, st *store.Store, c *conv) {
		if _, err := st.RecordNonceOnce(context.Background(), c.key, protocol.FlowReceived, "dup"); err != nil {
			t.Fatal(err)
		}
		before := metricValue(c.e.m.Ignored.WithLabelValues(string(protocol.ReasonReplay)))
		evals := 0
		c.step(string(protocol.IntentConfirm), func(protocol.Row, protocol.Mem, protocol.Env) (protocol.Result, error) {
			evals++
			return accepted(c, protocol.StateRespConfirm, "dup"), nil
		})
		if got := metricValue(c.e.m.Ignored.WithLabelValues(string(protocol.ReasonReplay))) - before; got != 1 || evals != 1 {
			t.Fatalf("replay counted %v times after %d evaluations; want 1 and 1", got, evals)
		}
		stored, _ := st.Get(context.Background(), c.key)
		if stored.Version != 1 || c.Row.State != protocol.StateRespReady || c.stored.Version != 1 {
			t.Fatalf("replay changed the row: stored v%d, conv in %s", stored.Version, c.Row.State)
		}
		if found, _ := c.nonces.lookup(protocol.FlowReceived, "dup"); !found {
			t.Fatal("RAM mirror does not know the replayed nonce")
		}
	})
}

// An ignored message can still leave a note in RAM (the latest nonce a
// peer answers with, §6.1); the row is not written.
func TestStepKeepsMemOfAnIgnoredMessageWhenAsked(t *testing.T) {
	forEachSaveStore(t, func(t *testing.T, st *store.Store, c *conv) {
		for _, keep := range []bool{false, true} {
			c.Mem = protocol.Mem{}
			c.step(string(protocol.IntentRespond), func(row protocol.Row, mem protocol.Mem, _ protocol.Env) (protocol.Result, error) {
				mem.LatestRespondNonce = "n7"
				return protocol.Result{Row: row, Mem: mem, Ignored: protocol.ReasonReplay, Effects: protocol.Effects{KeepMem: keep}}, nil
			})
			if got := c.Mem.LatestRespondNonce == "n7"; got != keep {
				t.Fatalf("KeepMem %v: mem kept %v", keep, got)
			}
		}
		if stored, _ := st.Get(context.Background(), c.key); stored.Version != 1 {
			t.Fatalf("an ignored message wrote the row (v%d)", stored.Version)
		}
	})
}
