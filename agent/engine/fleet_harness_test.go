package engine

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// countingHandler counts log records by message, so tests can assert the
// reference log lines (opened message, CLOSE SUCCESS ...).
type countingHandler struct {
	mu     *sync.Mutex
	counts map[string]int
}

func newCountingHandler() *countingHandler {
	return &countingHandler{mu: &sync.Mutex{}, counts: map[string]int{}}
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Message]++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

type fleetOptions struct {
	mode         trust.Mode
	stateTimeout time.Duration
	relayMaxLine int
	directed     bool
	// dsn is the database (default: a fresh one from pgtest.DSN).
	dsn string
	// twoRoundTrips turns lib/pq's binary_parameters off (the store turns
	// it on: parse, bind and execute in one round trip instead of two), to
	// measure what it saves.
	twoRoundTrips bool
	// asyncCommit is store.Options.AsyncCommit, as agents run by default.
	asyncCommit bool
	logSent     bool
	cycleEvery  time.Duration
	// register and retry intervals; tests use short ones.
	registerInterval, retryInterval time.Duration
	// wrapStore, when set, gives each agent its own view of the shared
	// store (a test counting an agent's calls).
	wrapStore func(*store.Store) Store
}

// fleet is a relay and agents over real TCP on 127.0.0.1, sharing one real
// PostgreSQL database.
type fleet struct {
	t    testing.TB
	opts fleetOptions
	st   *store.Store

	relay       *relay.Server
	relayAddr   string
	relayCancel context.CancelFunc
	relayDone   chan struct{}

	mu     sync.Mutex
	cycles map[[2]string]int // (initiator, responder) → cycles seen by the responder
	events []CycleEvent
	agents []*testAgent
	bundle trust.Bundle
}

type testAgent struct {
	id     *crypto.Identity
	client *relay.Client
	eng    *Engine
	logs   *countingHandler
	cancel context.CancelFunc
	done   chan struct{}
}

func newFleet(t testing.TB, opts fleetOptions) *fleet {
	t.Helper()
	if opts.mode == "" {
		opts.mode = trust.Fleet
	}
	if opts.stateTimeout == 0 {
		opts.stateTimeout = time.Second
	}
	if opts.registerInterval == 0 {
		opts.registerInterval = 200 * time.Millisecond
	}
	if opts.retryInterval == 0 {
		opts.retryInterval = 200 * time.Millisecond
	}
	dsn := opts.dsn
	if dsn == "" {
		dsn = pgtest.DSN(t)
	}
	if opts.twoRoundTrips {
		dsn += sep(dsn) + "binary_parameters=no"
	}
	st, err := store.OpenWithOptions(context.Background(), dsn,
		store.Options{MaxOpenConns: 48, AsyncCommit: opts.asyncCommit, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, opts: opts, st: st, cycles: map[[2]string]int{}, bundle: trust.Bundle{}}
	f.startRelay("127.0.0.1:0")
	t.Cleanup(func() {
		for _, a := range f.agents {
			a.stop()
		}
		f.stopRelay()
		st.Close()
	})
	return f
}

func (f *fleet) startRelay(addr string) {
	f.t.Helper()
	var srv *relay.Server
	var err error
	// The port of a relay we just stopped can take a moment to free up.
	for range 50 {
		srv, err = relay.NewServer(relay.ServerConfig{Listen: addr, MaxLine: f.opts.relayMaxLine,
			DirectedRouting: f.opts.directed}, slog.New(slog.DiscardHandler))
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.relay, f.relayAddr = srv, srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	f.relayCancel, f.relayDone = cancel, make(chan struct{})
	go func() { defer close(f.relayDone); srv.Serve(ctx) }()
}

func (f *fleet) stopRelay() {
	if f.relayCancel != nil {
		f.relayCancel()
		<-f.relayDone
		f.relayCancel = nil
	}
}

// newIdentities creates n identities and puts them in the fleet's bundle.
func (f *fleet) newIdentities(n int) []*crypto.Identity {
	ids := make([]*crypto.Identity, n)
	for i := range ids {
		ids[i] = mustIdentity(f.t, "agent")
		f.mu.Lock()
		f.bundle[ids[i].ID] = ids[i].SignPub()
		f.mu.Unlock()
	}
	return ids
}

func (f *fleet) policy() *trust.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := trust.Bundle{}
	for k, v := range f.bundle {
		b[k] = v
	}
	return trust.NewPolicy(f.opts.mode, b)
}

func (f *fleet) start(id *crypto.Identity, policy *trust.Policy) *testAgent {
	f.t.Helper()
	logs := newCountingHandler()
	a := &testAgent{id: id, logs: logs, done: make(chan struct{})}
	var eng *Engine
	client := relay.NewClient(relay.ClientConfig{Addr: f.relayAddr, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		OnConnect: func() {
			if eng != nil {
				eng.Kick()
			}
		}})
	var st Store = f.st
	if f.opts.wrapStore != nil {
		st = f.opts.wrapStore(f.st)
	}
	eng, err := New(Config{
		Identity: id, Name: "agent", Store: st, Agents: f.st, Transport: client, Policy: policy,
		Secure: true, LogSentNonces: f.opts.logSent, CycleInterval: f.opts.cycleEvery, RegisterInterval: f.opts.registerInterval, RetryInterval: f.opts.retryInterval,
		StateTimeout: f.opts.stateTimeout, Logger: slog.New(logs),
		OnCycle: func(ev CycleEvent) {
			if ev.Role != protocol.Responder {
				return
			}
			f.mu.Lock()
			f.cycles[[2]string{ev.PeerID, ev.SelfID}]++
			f.events = append(f.events, ev)
			f.mu.Unlock()
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	a.eng, a.client = eng, client
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); client.Run(ctx) }()
	go func() { defer wg.Done(); eng.Run(ctx) }()
	go func() { wg.Wait(); close(a.done) }()
	f.mu.Lock()
	f.agents = append(f.agents, a)
	f.mu.Unlock()
	return a
}

func (a *testAgent) stop() {
	a.cancel()
	<-a.done
}

// totalCycles counts responder-side cycles over all pairs.
func (f *fleet) totalCycles() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// eventsSince returns the cycle events after the first n.
func (f *fleet) eventsSince(n int) []CycleEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]CycleEvent(nil), f.events[n:]...)
}

// pairCycles is the responder-side cycle count of initiator → responder.
func (f *fleet) pairCycles(ini, resp string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cycles[[2]string{ini, resp}]
}

// waitPairs waits until every directed pair among ids has at least min
// more cycles than in base.
func (f *fleet) waitPairs(ids []*crypto.Identity, base map[[2]string]int, minCycles int, within time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var lagging [][2]string
		for _, a := range ids {
			for _, b := range ids {
				if a != b && f.pairCycles(a.ID, b.ID)-base[[2]string{a.ID, b.ID}] < minCycles {
					lagging = append(lagging, [2]string{a.ID[:8], b.ID[:8]})
				}
			}
		}
		if len(lagging) == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("after %s, pairs below %d new cycles: %v", within, minCycles, lagging)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fleet) snapshot() map[[2]string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[[2]string]int, len(f.cycles))
	for k, v := range f.cycles {
		m[k] = v
	}
	return m
}

// rawClient is a bare TCP connection to the relay, for injecting lines.
func (f *fleet) rawClient() net.Conn {
	f.t.Helper()
	c, err := net.Dial("tcp", f.relayAddr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

func sortedLatencies(evs []CycleEvent) []time.Duration {
	var d []time.Duration
	for _, ev := range evs {
		if !ev.Started.IsZero() {
			d = append(d, ev.Completed.Sub(ev.Started))
		}
	}
	slices.Sort(d)
	return d
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return -1
}

func sep(dsn string) string {
	if strings.Contains(dsn, "?") {
		return "&"
	}
	return "?"
}

func mustIdentity(t testing.TB, name string) *crypto.Identity {
	t.Helper()
	id, err := crypto.NewIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func register(from string) map[string]any {
	return map[string]any{"to": nil, "intent": string(protocol.IntentRegister), "from": from}
}
