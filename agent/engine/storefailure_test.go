package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// countingStore is the real store, counting the calls a spinning
// conversation would make.
type countingStore struct {
	*store.Store
	loads, updates atomic.Int64
	// gone counts writes that found the row deleted; unavailable, writes
	// that never reached it (the call failed: a deadline on a busy
	// database, which the engine retries by design).
	gone, unavailable atomic.Int64
}

// countWrite sorts one write's outcome into gone or unavailable.
func (s *countingStore) countWrite(callErr, rowErr error) {
	switch {
	case callErr != nil:
		s.unavailable.Add(1)
	case errors.Is(rowErr, store.ErrNotFound):
		s.gone.Add(1)
	}
}

func (s *countingStore) GetOrCreate(ctx context.Context, k store.Key, def string) (store.RoleState, error) {
	rs, err := s.Store.GetOrCreate(ctx, k, def)
	s.loads.Add(1) // after the read: a test may then change the row
	return rs, err
}

func (s *countingStore) Update(ctx context.Context, next store.RoleState) (store.RoleState, error) {
	s.updates.Add(1)
	rs, err := s.Store.Update(ctx, next)
	s.countUpdate(err)
	return rs, err
}

// countUpdate sorts a single-row call's error (ErrNotFound is the row's
// answer; any other error is the call's).
func (s *countingStore) countUpdate(err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.countWrite(nil, err)
	} else if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrReplay) {
		s.countWrite(err, nil)
	}
}

func (s *countingStore) UpdateRecordingNonce(ctx context.Context, next store.RoleState, flow, nonce string) (store.RoleState, error) {
	s.updates.Add(1)
	rs, err := s.Store.UpdateRecordingNonce(ctx, next, flow, nonce)
	s.countUpdate(err)
	return rs, err
}

func (s *countingStore) ApplySteps(ctx context.Context, steps []store.Step) ([]store.StepResult, error) {
	for _, st := range steps {
		if st.Write {
			s.updates.Add(1)
		}
	}
	res, err := s.Store.ApplySteps(ctx, steps)
	for i, st := range steps {
		if !st.Write {
			continue
		}
		var rowErr error
		if err == nil && i < len(res) {
			rowErr = res[i].Err
		}
		s.countWrite(err, rowErr)
	}
	return res, err
}

// captureTransport keeps what the engine sends.
type captureTransport struct {
	mu   sync.Mutex
	sent []map[string]any
}

func (c *captureTransport) Lines() <-chan []byte { return nil }
func (c *captureTransport) Send(line []byte) error {
	var env struct {
		Payload map[string]any `json:"_payload"`
	}
	if err := json.Unmarshal(line, &env); err != nil {
		return err
	}
	c.mu.Lock()
	c.sent = append(c.sent, env.Payload)
	c.mu.Unlock()
	return nil
}

// first returns the first payload sent with intent, or nil.
func (c *captureTransport) first(intent protocol.Intent) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.sent {
		if p["intent"] == string(intent) {
			return p
		}
	}
	return nil
}

// waitingResponder starts an engine over real PostgreSQL whose responder
// conversation with peer-b is loaded in resp_finalize (kept across a
// restart, waiting for close), with the state timeout given.
func waitingResponder(t *testing.T, stateTimeout time.Duration) (*Engine, *countingStore, *conv, context.CancelFunc) {
	return waitingConversation(t, stateTimeout, protocol.Responder, protocol.Row{State: protocol.StateRespFinalize, LocalRef: "2222222222", PeerRef: "1111111111"})
}

// pgStore opens a fresh real PostgreSQL database, closed with the test.
func pgStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// waitingConversation starts an engine over real PostgreSQL with one
// conversation with peer-b, loaded from row.
func waitingConversation(t *testing.T, stateTimeout time.Duration, role protocol.Role, row protocol.Row) (*Engine, *countingStore, *conv, context.CancelFunc) {
	t.Helper()
	ctx := context.Background()
	st := pgStore(t)
	cs := &countingStore{Store: st}
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: cs, Transport: &captureTransport{},
		Policy: trust.NewPolicy(trust.Open, nil), StateTimeout: stateTimeout, RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{SelfID: e.self, Role: store.Role(role), PeerID: "peer-b"}
	rs, err := st.GetOrCreate(ctx, k, string(protocol.DefaultState(role)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, rowToStore(row, rs)); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.ctx = runCtx
	e.mu.Unlock()
	c := e.conversation(role, "peer-b")
	for i := 0; cs.loads.Load() == 0; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("conversation never loaded its row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e, cs, c, cancel
}

func waitConversations(t *testing.T, e *Engine, within time.Duration) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

// The operator deleted the peer's rows: Update reports ErrNotFound forever,
// so the conversation ends instead of retrying, and the database counts as
// healthy (it answered).
func TestTimeoutOnADeletedPairEndsTheConversation(t *testing.T) {
	e, cs, _, cancel := waitingResponder(t, 200*time.Millisecond)
	defer cancel()
	if err := cs.DeleteAgentState(context.Background(), e.self); err != nil {
		t.Fatal(err)
	}
	if !waitConversations(t, e, 5*time.Second) {
		cancel()
		waitConversations(t, e, 5*time.Second)
		t.Fatalf("conversation still running after its row was deleted (%d updates)", cs.updates.Load())
	}
	// Writes that timed out on a busy database are retried (they never
	// reached the row); the one that found the row gone is the last.
	if gone, failed, n := cs.gone.Load(), cs.unavailable.Load(), cs.updates.Load(); gone != 1 || n != gone+failed {
		t.Fatalf("%d updates of a deleted row (%d found it gone, %d failed to reach the database), want one that found it gone and none after",
			n, gone, failed)
	}
	if got := metricValue(e.m.PairsGone.WithLabelValues(string(protocol.Responder))); got != 1 {
		t.Fatalf("pair_state_deleted_total = %v, want 1", got)
	}
	if !e.StoreHealthy() {
		t.Fatal("a deleted row made the store unhealthy")
	}
	e.mu.Lock()
	left := len(e.convs)
	e.mu.Unlock()
	if left != 0 || metricValue(e.m.Conversations) != 0 {
		t.Fatalf("%d conversations kept (gauge %v), want the ended one forgotten", left, metricValue(e.m.Conversations))
	}
	// The peer's next message starts over from a fresh row.
	if c := e.conversation(protocol.Responder, "peer-b"); c == nil {
		t.Fatal("no new conversation for the peer")
	}
	cancel()
	if !waitConversations(t, e, 5*time.Second) {
		t.Fatal("new conversation did not stop")
	}
	if rs, err := cs.Get(context.Background(), store.Key{SelfID: e.self, Role: store.Responder, PeerID: "peer-b"}); err != nil || rs.State != string(protocol.StateRespReady) {
		t.Fatalf("re-created row %+v, err %v; want a fresh resp_ready row", rs, err)
	}
}

// While the database is down, a timeout that cannot be saved is retried
// with a backoff instead of at once (it used to fire ~86,000 times a second).
func TestTimeoutThatCannotBeSavedBacksOff(t *testing.T) {
	const stateTimeout = 50 * time.Millisecond
	e, cs, c, cancel := waitingResponder(t, stateTimeout)
	defer cancel()
	cs.Close() // the outage: every call now fails
	time.Sleep(8 * stateTimeout)
	cancel()
	if !waitConversations(t, e, 5*time.Second) {
		t.Fatal("conversation did not stop")
	}
	// One attempt per state timeout at most, plus slack for scheduling.
	if n := cs.updates.Load(); n < 2 || n > 12 {
		t.Fatalf("%d failed updates in 8 state timeouts, want a few (backoff), at least 2 (retried)", n)
	}
	if e.StoreHealthy() {
		t.Fatal("store reported healthy during the outage")
	}
	if c.Row.State != protocol.StateRespFinalize || c.gone {
		t.Fatalf("conversation in %s (gone %v); want it still waiting to recover", c.Row.State, c.gone)
	}
}

// A responder that never answers reconnect (a Python peer that is down)
// does not make the initiator forget the pair: it keeps its references and
// re-sends reconnect at the retry backoff, and each state timeout starts a
// new wait instead of firing again at once.
func TestUnansweredReconnectKeepsReconnecting(t *testing.T) {
	const stateTimeout = 50 * time.Millisecond
	row := protocol.Row{State: protocol.StateInitReady, LocalRef: "1111111111", PeerRef: "2222222222", FinalizeRetryCount: 4}
	e, cs, _, cancel := waitingConversation(t, stateTimeout, protocol.Initiator, row)
	defer cancel()
	time.Sleep(10 * stateTimeout)
	cancel()
	if !waitConversations(t, e, 5*time.Second) {
		t.Fatal("conversation did not stop")
	}
	if n := metricValue(e.m.Timeouts.WithLabelValues(string(protocol.StateInitReady))); n < 3 || n > 15 {
		t.Fatalf("%v timeouts in 10 state timeouts; want about one each", n)
	}
	if n := metricValue(e.m.Messages.WithLabelValues("out", string(protocol.IntentReconnect))); n < 3 {
		t.Fatalf("%v reconnects sent; want them to go on", n)
	}
	rs, err := cs.Get(context.Background(), store.Key{SelfID: e.self, Role: store.Initiator, PeerID: "peer-b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowFromStore(rs); got.State != protocol.StateInitReady || got.PeerRef != row.PeerRef || got.LocalRef != row.LocalRef {
		t.Fatalf("stored row %+v; want init_ready with both references kept", got)
	}
}

// An initiator restarted in init_exchange concludes at once with the
// stored peer_nonce instead of dropping the cycle (a Python responder has
// no timeout in resp_exchange and would stall for good).
func TestRestartMidExchangeConcludesWithTheStoredPeerNonce(t *testing.T) {
	const peerNonce = "0123456789abcdef0123456789abcdef"
	row := protocol.Row{State: protocol.StateInitExchange, LocalNonce: "fedcba9876543210fedcba9876543210", PeerNonce: peerNonce, ExchangeCount: 2}
	e, cs, _, cancel := waitingConversation(t, time.Minute, protocol.Initiator, row)
	defer cancel()
	tr := e.cfg.Transport.(*captureTransport)
	var conclude map[string]any
	for i := 0; conclude == nil; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("no conclude after resuming init_exchange")
		}
		time.Sleep(10 * time.Millisecond)
		conclude = tr.first(protocol.IntentConclude)
	}
	cancel()
	if !waitConversations(t, e, 5*time.Second) {
		t.Fatal("conversation did not stop")
	}
	rs, err := cs.Get(context.Background(), store.Key{SelfID: e.self, Role: store.Initiator, PeerID: "peer-b"})
	if err != nil {
		t.Fatal(err)
	}
	if conclude["your_nonce"] != peerNonce || rs.State != string(protocol.StateInitPropose) || deref(rs.LocalReference) != conclude["my_ref"] {
		t.Fatalf("conclude %v; stored %s with reference %q", conclude, rs.State, deref(rs.LocalReference))
	}
}
