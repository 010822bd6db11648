package controllers

import (
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/engine"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
)

// rotationFleet is a relay and fleet-mode agents (real engines, real TCP,
// real PostgreSQL) in this process, each reading its own copy of the trust
// bundle, so a test can deliver the operator's bundle writes to each peer
// at a different time, as kubelets do.
type rotationFleet struct {
	t         *testing.T
	dsn, addr string
	dir       string

	mu     sync.Mutex
	cycles map[[2]string]int // initiator → responder, responder side
	agents map[string]*rotationAgent
}

type rotationAgent struct {
	id      *crypto.Identity
	metrics *engine.Metrics
	stop    func()
}

func newRotationFleet(t *testing.T) *rotationFleet {
	f := &rotationFleet{t: t, dsn: testDSN(t), dir: t.TempDir(), cycles: map[[2]string]int{}, agents: map[string]*rotationAgent{}}
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx) }()
	f.addr = srv.Addr().String()
	t.Cleanup(func() {
		f.mu.Lock()
		agents := f.agents
		f.mu.Unlock()
		for _, a := range agents {
			a.stop()
		}
		cancel()
		<-done
	})
	return f
}

func (f *rotationFleet) bundlePath(name string) string { return filepath.Join(f.dir, name+".json") }

// deliver writes the operator's bundle document to one agent's file.
func (f *rotationFleet) deliver(name string, d bundleDoc) {
	data, err := d.encode()
	if err != nil {
		f.t.Error(err)
		return
	}
	tmp := f.bundlePath(name) + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		f.t.Error(err)
		return
	}
	if err := os.Rename(tmp, f.bundlePath(name)); err != nil {
		f.t.Error(err)
	}
}

// start runs a fleet-mode agent under name (its bundle file) with
// identity id.
func (f *rotationFleet) start(name string, id *crypto.Identity) { f.startMode(name, id, trust.Fleet) }

// startMode is start in another trust mode (TOFU ignores the bundle).
func (f *rotationFleet) startMode(name string, id *crypto.Identity, mode trust.Mode) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenWithOptions(ctx, f.dsn, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.t.Fatal(err)
	}
	policy := trust.NewPolicy(mode, nil)
	if err := policy.LoadFile(f.bundlePath(name)); err != nil {
		f.t.Fatal(err)
	}
	var eng *engine.Engine
	client := relay.NewClient(relay.ClientConfig{Addr: f.addr, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), OnConnect: func() {
			if eng != nil {
				eng.Kick()
			}
		}})
	m := engine.NewMetrics()
	eng, err = engine.New(engine.Config{Identity: id, Name: name, Store: st, Agents: st, Transport: client, Policy: policy,
		Secure: true, RegisterInterval: 200 * time.Millisecond, RetryInterval: 200 * time.Millisecond, StateTimeout: 3 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Metrics: m,
		OnCycle: func(ev engine.CycleEvent) {
			if ev.Role == protocol.Responder {
				f.mu.Lock()
				f.cycles[[2]string{ev.PeerID, ev.SelfID}]++
				f.mu.Unlock()
			}
		}})
	if err != nil {
		f.t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); client.Run(ctx) }()
	go func() { defer wg.Done(); eng.Run(ctx) }()
	go func() {
		defer wg.Done()
		policy.WatchFile(ctx, f.bundlePath(name), 20*time.Millisecond, slog.New(slog.DiscardHandler), nil)
	}()
	var once sync.Once
	a := &rotationAgent{id: id, metrics: m, stop: func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			st.Close()
		})
	}}
	f.mu.Lock()
	f.agents[name] = a
	f.mu.Unlock()
}

// rejected sums the failed hs validations of every agent started so far,
// by reason.
func (f *rotationFleet) rejected(stopped ...*rotationAgent) map[string]float64 {
	f.mu.Lock()
	agents := append([]*rotationAgent(nil), stopped...)
	for _, a := range f.agents {
		agents = append(agents, a)
	}
	f.mu.Unlock()
	out := map[string]float64{}
	for _, a := range agents {
		for reason, n := range f.failed(a) {
			out[reason] += n
		}
	}
	return out
}

// failed is one agent's failed hs validations by reason.
func (f *rotationFleet) failed(a *rotationAgent) map[string]float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.metrics.Handshakes)
	families, err := reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["result"] == "failed" {
				out[labels["reason"]] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func (f *rotationFleet) pairCycles(ini, resp string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cycles[[2]string{ini, resp}]
}

// waitCycles waits until each listed pair completed a cycle after base.
func (f *rotationFleet) waitCycles(base map[[2]string]int, pairs [][2]string, within time.Duration) {
	f.t.Helper()
	eventually(f.t, within, func() error {
		for _, p := range pairs {
			if f.pairCycles(p[0], p[1]) <= base[p] {
				return errNotYet
			}
		}
		return nil
	})
}

func (f *rotationFleet) snapshot() map[[2]string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[[2]string]int, len(f.cycles))
	for k, v := range f.cycles {
		out[k] = v
	}
	return out
}

// TestRotationWithOverlapRejectsNoHandshake runs three fleet-mode agents
// cycling continuously; "ann" rotates its keys through the operator's
// steps (its bundle documents, its step order). "bob" sees every bundle
// write at once, "cal" lags by most of the propagation delay, like a
// kubelet late to refresh its ConfigMap. No peer rejects a handshake.
// The same lag without the overlap (the old one-step swap) is rejected by
// cal: the metric detects what the overlap prevents.
func TestRotationWithOverlapRejectsNoHandshake(t *testing.T) {
	const (
		propagation = 5500 * time.Millisecond
		lag         = 5 * time.Second // cal's kubelet; < propagation, > the state timeout (3 s): a peer stopped mid-cycle stalls its pairs until then
		grace       = 500 * time.Millisecond
	)
	for _, tc := range []struct {
		name    string
		overlap bool
	}{{"overlap", true}, {"one-step swap", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRotationFleet(t)
			ann, bob, cal := mustNewIdentity(t, "ann"), mustNewIdentity(t, "bob"), mustNewIdentity(t, "cal")
			b64 := func(id *crypto.Identity) string { return encodeKey(id.SignPub()) }
			doc := newBundleDoc()
			for _, id := range []*crypto.Identity{ann, bob, cal} {
				doc.setEntry(id.ID, b64(id), nil)
			}
			for _, n := range []string{"ann", "bob", "cal"} {
				f.deliver(n, doc)
			}
			var lagging sync.WaitGroup
			publish := func(d bundleDoc) {
				d = d.clone()
				f.deliver("ann", d)
				f.deliver("bob", d)
				lagging.Add(1)
				time.AfterFunc(lag, func() { defer lagging.Done(); f.deliver("cal", d) })
			}
			f.start("ann", ann)
			f.start("bob", bob)
			f.start("cal", cal)
			all := [][2]string{{ann.ID, bob.ID}, {bob.ID, ann.ID}, {ann.ID, cal.ID}, {cal.ID, ann.ID}, {bob.ID, cal.ID}, {cal.ID, bob.ID}}
			f.waitCycles(nil, all, 30*time.Second)

			next, err := ann.Rotate()
			if err != nil {
				t.Fatal(err)
			}
			if tc.overlap {
				// publish: both keys, the current one primary
				doc.setEntry(ann.ID, b64(ann), []string{b64(next)})
				publish(doc)
				time.Sleep(propagation)
				// swap: the Secret's keys change, the pod rolls
				doc.setEntry(ann.ID, b64(next), []string{b64(ann)})
				publish(doc)
			} else {
				doc.setEntry(ann.ID, b64(next), nil)
				publish(doc)
			}
			old := f.agents["ann"]
			old.stop()
			f.start("ann", next)
			base := f.snapshot()
			f.waitCycles(base, all, 30*time.Second)
			if tc.overlap {
				time.Sleep(grace) // the new pod is ready (it cycles); then the grace
				doc.setEntry(ann.ID, b64(next), nil)
				publish(doc)
			}
			lagging.Wait()
			f.waitCycles(f.snapshot(), all, 30*time.Second)

			rejected := f.rejected(old)
			keyRejections := rejected["key_mismatch"] + rejected["unknown_agent"] + rejected["key_changed"]
			t.Logf("failed hs validations by reason: %v; cycles ann→cal after the swap: %d", rejected, f.pairCycles(next.ID, cal.ID)-base[[2]string{next.ID, cal.ID}])
			switch {
			case tc.overlap && len(rejected) > 0:
				t.Fatalf("peers rejected handshakes during a rotation with overlap: %v", rejected)
			case !tc.overlap && keyRejections == 0:
				t.Fatal("the lagging peer accepted the new key without an overlap: the test cannot see a rejection")
			}
		})
	}
}

// TestTOFUPeerRefusesARotatedKey: a TOFU peer pinned the old key and
// refuses the new one even though the bundle lists it (docs/rotation.md,
// "TOFU peers"); the operator can only report it.
func TestTOFUPeerRefusesARotatedKey(t *testing.T) {
	f := newRotationFleet(t)
	ann, dan := mustNewIdentity(t, "ann"), mustNewIdentity(t, "dan")
	doc := newBundleDoc()
	doc.setEntry(ann.ID, encodeKey(ann.SignPub()), nil)
	doc.setEntry(dan.ID, encodeKey(dan.SignPub()), nil)
	f.deliver("ann", doc)
	f.deliver("dan", doc)
	f.start("ann", ann)
	f.startMode("dan", dan, trust.TOFU)
	f.waitCycles(nil, [][2]string{{ann.ID, dan.ID}, {dan.ID, ann.ID}}, 30*time.Second)

	next, err := ann.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	doc.setEntry(ann.ID, encodeKey(next.SignPub()), []string{encodeKey(ann.SignPub())})
	f.deliver("ann", doc)
	f.deliver("dan", doc)
	f.agents["ann"].stop()
	f.start("ann", next)
	eventually(t, 30*time.Second, func() error {
		if f.failed(f.agents["dan"])["key_changed"] == 0 {
			return errNotYet
		}
		return nil
	})
	base := f.snapshot()
	time.Sleep(2 * time.Second)
	if got := f.pairCycles(next.ID, dan.ID) - base[[2]string{next.ID, dan.ID}]; got != 0 {
		t.Fatalf("the TOFU peer completed %d cycles with the rotated key", got)
	}
}

func mustNewIdentity(t testing.TB, name string) *crypto.Identity {
	t.Helper()
	id, err := crypto.NewIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
