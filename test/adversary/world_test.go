package adversary

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/engine"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
	_ "github.com/lib/pq" // the row oracles read role_state directly
)

// worldOptions shape one attack's world. Zero values take the defaults of
// newWorld.
type worldOptions struct {
	mode trust.Mode // default fleet
	// honest is how many honest agents start before the attack (default 3).
	honest int
	// late is how many more bundle members are created but started only
	// when the test says so (a "new real peer" arriving during an attack).
	late         int
	stateTimeout time.Duration // default 2 s
	cycleEvery   time.Duration
	maxPeers     int
	maxActive    int
}

// world is a real relay on 127.0.0.1:0, a real PostgreSQL database, honest
// agents (engine in-process, each with its own relay connection) and the
// attacker, which connected before any agent so it saw every line.
type world struct {
	t    *testing.T
	opts worldOptions
	st   *store.Store
	db   *sql.DB
	addr string
	att  *attacker

	bundle trust.Bundle
	honest []*agent // started agents, in start order
	late   []*crypto.Identity
	// x is a bundle member whose agent never runs: any cycle an honest
	// agent counts with x was forged.
	x *crypto.Identity

	mu        sync.Mutex
	cycles    map[cycleKey][]time.Time
	verified  map[cycleKey]int // cycles OnCycle reported Verified
	rowTokens map[rowToken]bool
	rowsDone  chan struct{}
	ready     readiness
}

type cycleKey struct {
	self, peer string
	role       protocol.Role
}

type agent struct {
	id     *crypto.Identity
	eng    *engine.Engine
	up     atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
}

// ready is what /readyz reports (cmd/hsfleet readyzHandler): the relay
// connection is up and the last store call succeeded.
func (a *agent) ready() bool { return a.up.Load() && a.eng.StoreHealthy() }

func newWorld(t *testing.T, opts worldOptions) *world {
	t.Helper()
	if opts.mode == "" {
		opts.mode = trust.Fleet
	}
	if opts.honest == 0 {
		opts.honest = 3
	}
	if opts.stateTimeout == 0 {
		opts.stateTimeout = 2 * time.Second
	}
	dsn := pgtest.DSN(t)
	st, err := store.OpenWithOptions(context.Background(), dsn,
		store.Options{MaxOpenConns: 16, AsyncCommit: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, opts: opts, st: st, db: db, bundle: trust.Bundle{}, cycles: map[cycleKey][]time.Time{},
		verified: map[cycleKey]int{}, rowTokens: map[rowToken]bool{}}
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.addr = srv.Addr().String()
	ctx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); srv.Serve(ctx) }()
	t.Cleanup(func() {
		w.att.stop()
		for _, a := range w.honest {
			a.stop()
		}
		w.ready.stop()
		stopRelay()
		<-relayDone
		db.Close()
		st.Close()
	})

	ids := make([]*crypto.Identity, opts.honest+opts.late+1)
	for i := range ids {
		if ids[i], err = crypto.NewIdentity("agent"); err != nil {
			t.Fatal(err)
		}
		w.bundle[ids[i].ID] = ids[i].SignPub()
	}
	w.x, w.late = ids[0], ids[1+opts.honest:]
	w.att = newAttacker(t, w.addr)
	for _, id := range ids[1 : 1+opts.honest] {
		w.start(id)
	}
	w.att.setHonest(w.ids())
	w.ready.start(w)
	return w
}

// start runs an honest agent for id (one of the bundle's identities).
func (w *world) start(id *crypto.Identity) *agent {
	w.t.Helper()
	a := &agent{id: id}
	var eng *engine.Engine
	client := relay.NewClient(relay.ClientConfig{Addr: w.addr, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		OnConnect: func() {
			a.up.Store(true)
			if eng != nil {
				eng.Kick()
			}
		},
		OnDisconnect: func(error) { a.up.Store(false) }})
	eng, err := engine.New(engine.Config{
		Identity: id, Name: "agent", Store: w.st, Agents: w.st, Transport: client,
		Policy: w.policy(), Secure: true,
		RegisterInterval: 200 * time.Millisecond, RetryInterval: 200 * time.Millisecond,
		StateTimeout: w.opts.stateTimeout, CycleInterval: w.opts.cycleEvery,
		MaxPeers: w.opts.maxPeers, MaxActiveCycles: w.opts.maxActive,
		Logger: slog.New(slog.DiscardHandler),
		OnCycle: func(ev engine.CycleEvent) {
			k := cycleKey{ev.SelfID, ev.PeerID, ev.Role}
			w.mu.Lock()
			w.cycles[k] = append(w.cycles[k], ev.Completed)
			if ev.Verified {
				w.verified[k]++
			}
			w.mu.Unlock()
		},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	a.eng = eng
	a.cancel, a.done = goAll(func(ctx context.Context) { client.Run(ctx) }, func(ctx context.Context) { eng.Run(ctx) })
	w.mu.Lock()
	w.honest = append(w.honest, a)
	w.mu.Unlock()
	w.att.setHonest(w.ids())
	return a
}

func (a *agent) stop() {
	a.cancel()
	<-a.done
}

// policy is an agent's trust policy: the bundle with every member marked
// bind1, as the operator writes it for the agents it runs, so in fleet
// mode transcript binding is required and a forged line must fail it.
func (w *world) policy() *trust.Policy {
	b := w.bundleCopy()
	caps := make(trust.Caps, len(b))
	for id := range b {
		caps[id] = []trust.Cap{trust.CapBind1}
	}
	p := trust.NewPolicy(w.opts.mode, b)
	p.SetBundleCaps(b, caps)
	return p
}

func (w *world) bundleCopy() trust.Bundle {
	b := make(trust.Bundle, len(w.bundle))
	for k, v := range w.bundle {
		b[k] = v
	}
	return b
}

// ids are the started honest agents' IDs.
func (w *world) ids() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, len(w.honest))
	for i, a := range w.honest {
		ids[i] = a.id.ID
	}
	return ids
}

// stopAgents stops every honest agent, so the counts below are final.
func (w *world) stopAgents() {
	for _, a := range w.agentsNow() {
		a.stop()
	}
}

func (w *world) agentsNow() []*agent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*agent(nil), w.honest...)
}

// count is how many cycles self counted with peer in role.
func (w *world) count(self, peer string, role protocol.Role) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.cycles[cycleKey{self, peer, role}])
}

// cycleTimes are the completion times of self's cycles with peer in role.
func (w *world) cycleTimes(self, peer string, role protocol.Role) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.cycles[cycleKey{self, peer, role}]...)
}

// pairs lists the directed (initiator, responder) pairs among ids.
func pairs(ids []string) [][2]string {
	var ps [][2]string
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				ps = append(ps, [2]string{a, b})
			}
		}
	}
	return ps
}

// warmUp waits until every honest pair has completed a cycle on both
// sides, so attacks start from a cycling fleet.
func (w *world) warmUp() {
	w.t.Helper()
	w.waitCycles(w.ids(), 20*time.Second)
}

// waitCycles waits until every pair among ids has a cycle counted by both
// its initiator and its responder.
func (w *world) waitCycles(ids []string, within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var missing []string
		for _, p := range pairs(ids) {
			if w.count(p[0], p[1], protocol.Initiator) == 0 || w.count(p[1], p[0], protocol.Responder) == 0 {
				missing = append(missing, short(p[0])+"->"+short(p[1]))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("after %s these pairs have not completed a cycle: %v", within, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// goAll runs each function on its own goroutine with a shared context; the
// channel closes when all have returned after cancel.
func goAll(fns ...func(context.Context)) (context.CancelFunc, chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(len(fns))
	for _, f := range fns {
		go func() { defer wg.Done(); f(ctx) }()
	}
	go func() { wg.Wait(); close(done) }()
	return cancel, done
}

// every runs f every d on its own goroutine until stop closes; the
// returned channel closes when it has returned.
func every(d time.Duration, stop <-chan struct{}, f func()) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			f()
		}
	}()
	return done
}
