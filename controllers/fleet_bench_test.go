package controllers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	dto "github.com/prometheus/client_model/go"
	"math/big"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// BenchmarkFleetStatus runs the operator against envtest and a real
// PostgreSQL holding a mesh of rows for HSFLEET_BENCH_AGENTS HSAgents
// (default 1,000) with HSFLEET_BENCH_PEERS peers each (default all: ~2M
// role_state rows, bulk-loaded with COPY), with a
// production-like client (QPS 20, burst 30) and the production status
// interval (15 s). While a writer completes HSFLEET_BENCH_CYCLES_PER_S
// cycles per second across the fleet, it adds a new peer to a random agent
// every second and measures how long until that agent's status.peerCount
// shows it (staleness). Over a HSFLEET_BENCH_WINDOW steady-state window it
// reports API writes/s, database transactions/s of the operator, operator
// CPU (cores) and peak heap. Run with -benchtime=1x:
//
//	go test ./controllers -run '^$' -bench FleetStatus -benchtime=1x -timeout 60m
func BenchmarkFleetStatus(b *testing.B) {
	agents := envInt(b, "HSFLEET_BENCH_AGENTS", 1000)
	window := envDuration(b, "HSFLEET_BENCH_WINDOW", 90*time.Second)
	cyclesPerSecond := envInt(b, "HSFLEET_BENCH_CYCLES_PER_S", 100)
	peers := min(envInt(b, "HSFLEET_BENCH_PEERS", agents-1), agents-1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ns := newNamespace(b)
	dsn := testDSN(b)
	createDatabaseSecret(b, ns, "hsfleet-db", dsn)
	openTestStore(b, dsn) // migrates the schema
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	start := time.Now()
	ids := createFleet(b, ns, agents)
	b.Logf("%d HSAgents with identity Secrets created in %s", agents, time.Since(start).Round(time.Second))
	start = time.Now()
	rows := bulkLoadMesh(b, db, ns, ids, peers)
	b.Logf("%d role_state rows loaded with COPY in %s", rows, time.Since(start).Round(time.Second))

	restCfg, _ := testEnv(b)
	opCfg := rest.CopyConfig(restCfg)
	opCfg.QPS, opCfg.Burst = 20, 30 // controller-runtime's defaults in production
	var calls apiCalls
	opCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, calls: &calls} })

	cfg := testOperatorConfig()
	cfg.StatusInterval = 15 * time.Second // the production default
	cfg.DatabaseTimeout = 5 * time.Second
	b.ResetTimer()
	opStart := time.Now()
	startOperatorOn(b, opCfg, ManagerOptions{
		Namespaces: []string{ns}, MetricsAddr: "0", ProbeAddr: "0", SkipControllerNameValidation: true,
	}, cfg)

	var peak atomic.Uint64
	go sampleHeap(ctx, &peak)

	// Converged: every agent's status reflects its database (peerCount).
	w := watchAgents(ctx, b, ns)
	w.waitAll(b, 30*time.Minute, func(a *hsv1.HSAgent) bool { return a.Status.PeerCount == int32(peers) })
	b.Logf("all %d agents show their %d peers %s after the operator started", agents, peers, time.Since(opStart).Round(time.Second))

	// Steady state: agents keep cycling; one new peer per second.
	go cycleWriter(ctx, b, db, ids, cyclesPerSecond)
	time.Sleep(cfg.StatusInterval) // let the writer's first counters settle
	stopProfile := startProfiles(b)
	calls0, cpu0, q0, poll0 := calls.snapshot(), processCPU(), summaryCalls(b), pollSeconds(b)
	t0 := time.Now()
	var staleness []time.Duration
	var mu sync.Mutex
	var pending sync.WaitGroup
	for i := 0; time.Since(t0) < window; i++ {
		self := ids[randN(len(ids))]
		name := w.nameOf(self)
		if _, err := db.Exec(`INSERT INTO role_state (self_id, role, peer_id, state) VALUES ($1, 'initiator', $2, 'init_ready')`,
			self, fmt.Sprintf("new-peer-%d", i)); err != nil {
			b.Fatal(err)
		}
		at := time.Now()
		want := w.peerCount(name) + 1
		pending.Add(1)
		go func() {
			defer pending.Done()
			if w.waitOne(name, 3*time.Minute, func(a *hsv1.HSAgent) bool { return a.Status.PeerCount >= want }) {
				mu.Lock()
				staleness = append(staleness, time.Since(at))
				mu.Unlock()
			}
		}()
		time.Sleep(time.Second)
	}
	elapsed := time.Since(t0)
	calls1, cpu1, q1, poll1 := calls.snapshot(), processCPU(), summaryCalls(b), pollSeconds(b)
	stopProfile()
	pending.Wait()
	cancel() // stop the writer before the deferred db.Close
	b.StopTimer()

	slices.Sort(staleness)
	n := len(staleness)
	if n == 0 {
		b.Fatal("no staleness sample completed")
	}
	pct := func(p float64) float64 { return staleness[min(n-1, int(float64(n)*p))].Seconds() }
	secs := elapsed.Seconds()
	b.ReportMetric(pct(0.5), "staleness_p50_s")
	b.ReportMetric(pct(0.99), "staleness_p99_s")
	b.ReportMetric(float64(calls1.writes-calls0.writes)/secs, "api_writes/s")
	b.ReportMetric(float64(calls1.statusWrites-calls0.statusWrites)/secs, "status_writes/s")
	b.ReportMetric(float64(calls1.applies-calls0.applies)/secs, "applies/s")
	b.ReportMetric(float64(calls1.reads-calls0.reads)/secs, "api_reads/s")
	b.ReportMetric(float64(q1-q0)/secs, "summary_calls/s")
	b.ReportMetric((cpu1-cpu0).Seconds()/secs, "cpu_cores")
	if n := poll1.GetSampleCount() - poll0.GetSampleCount(); n > 0 {
		b.ReportMetric((poll1.GetSampleSum()-poll0.GetSampleSum())/float64(n), "poll_mean_s")
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "heap_peak_MiB")
	b.Logf("%d staleness samples over %s; agents %d; cycles/s written %d", n, elapsed.Round(time.Second), agents, cyclesPerSecond)
}

func envInt(b *testing.B, key string, def int) int {
	if v := os.Getenv(key); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			b.Fatalf("%s=%q: want an integer ≥ 2", key, v)
		}
		return n
	}
	return def
}

func envDuration(b *testing.B, key string, def time.Duration) time.Duration {
	if v := os.Getenv(key); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("%s=%q: %v", key, v, err)
		}
		return d
	}
	return def
}

// randomUUID is a lowercase version-4 UUID, the agent ID format.
func randomUUID() string {
	u := make([]byte, 16)
	_, _ = rand.Read(u)
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

func randN(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

// createFleet creates n HSAgents and their identity Secrets (public keys
// in annotations, as the operator stores them), so the benchmark measures
// status, not n scrypt runs.
func createFleet(b *testing.B, ns string, n int) []string {
	_, c := testEnv(b)
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			a := newHSAgent(ns, fmt.Sprintf("agent-%04d", i))
			if err := c.Create(context.Background(), a); err != nil {
				errs <- err
				return
			}
			key := func() string {
				k := make([]byte, 32)
				_, _ = rand.Read(k)
				return base64.StdEncoding.EncodeToString(k)
			}
			info := identityInfo{ID: randomUUID(), SignPublicKey: key(), KxPublicKey: key()}
			sec := identitySecret(a, []byte("sealed identity (not opened by the benchmark)"), info)
			if err := controllerutil.SetControllerReference(a, sec, suite.scheme); err != nil {
				errs <- err
				return
			}
			if err := c.Create(context.Background(), sec); err != nil {
				errs <- err
				return
			}
			ids[i] = info.ID
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return ids
}

// bulkLoadMesh loads a mesh: every agent has an initiator and a responder
// row with each of the next `peers` agents (all others: a full mesh),
// cycled within the last minute, with a verified hs and a recent encrypted
// envelope.
func bulkLoadMesh(b *testing.B, db *sql.DB, ns string, ids []string, peers int) int {
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	agentsCopy, err := tx.Prepare(pq.CopyIn("agents", "self_id", "name", "namespace", "started_at", "last_seen_at"))
	if err != nil {
		b.Fatal(err)
	}
	for i, id := range ids {
		if _, err := agentsCopy.Exec(id, fmt.Sprintf("agent-%04d", i), ns, now, now); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := agentsCopy.Exec(); err != nil {
		b.Fatal(err)
	}
	rs, err := tx.Prepare(pq.CopyIn("role_state", "self_id", "role", "peer_id", "state", "cycles", "last_cycle_at",
		"hs_derived_at", "last_secure_at"))
	if err != nil {
		b.Fatal(err)
	}
	rows := 0
	for i, self := range ids {
		for k := 1; k <= peers; k++ {
			j := (i + k) % len(ids)
			peer := ids[j]
			last := now.Add(-time.Duration((i*len(ids)+j)%60) * time.Second)
			for _, role := range []string{"initiator", "responder"} {
				if _, err := rs.Exec(self, role, peer, role[:4]+"_ready", 5, last, last, last); err != nil {
					b.Fatal(err)
				}
				rows++
			}
		}
	}
	if _, err := rs.Exec(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE role_state; ANALYZE agents`); err != nil {
		b.Fatal(err)
	}
	return rows
}

// cycleWriter completes perSecond cycles per second on random pairs, as a
// cycling fleet's agents do (BumpCycles' statement).
func cycleWriter(ctx context.Context, b *testing.B, db *sql.DB, ids []string, perSecond int) {
	t := time.NewTicker(time.Second / time.Duration(perSecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i := randN(len(ids))
		self, peer := ids[i], ids[(i+1)%len(ids)]
		if _, err := db.ExecContext(ctx, `UPDATE role_state SET cycles = cycles + 1, last_cycle_at = now()
			WHERE self_id = $1 AND role = 'initiator' AND peer_id = $2`, self, peer); err != nil && ctx.Err() == nil {
			b.Error(err)
			return
		}
	}
}

// summaryCalls counts the operator's status reads from the store's own
// metrics: Summary (one per agent, a transaction of two queries) or
// FleetSummary or FleetRows (one statement per database).
func summaryCalls(b *testing.B) int64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(store.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "hsfleet_store_operations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && (l.GetValue() == "summary" || l.GetValue() == "fleet_summary" || l.GetValue() == "fleet_rows") {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int64(n)
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sampleHeap(ctx context.Context, peak *atomic.Uint64) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apiCalls counts the operator's requests to the API server.
type apiCalls struct {
	mu                                   sync.Mutex
	writes, statusWrites, applies, reads int64
}

func (c *apiCalls) snapshot() apiCalls {
	c.mu.Lock()
	defer c.mu.Unlock()
	return apiCalls{writes: c.writes, statusWrites: c.statusWrites, applies: c.applies, reads: c.reads}
}

type countingTransport struct {
	next  http.RoundTripper
	calls *apiCalls
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	watching := r.URL.Query().Get("watch") == "true"
	t.calls.mu.Lock()
	switch r.Method {
	case http.MethodGet:
		if !watching {
			t.calls.reads++
		}
	default:
		t.calls.writes++
		if strings.HasSuffix(r.URL.Path, "/status") {
			t.calls.statusWrites++
		}
		if strings.Contains(r.Header.Get("Content-Type"), "apply-patch") {
			t.calls.applies++
		}
	}
	t.calls.mu.Unlock()
	return t.next.RoundTrip(r)
}

// agentWatch follows every HSAgent of a namespace through one watch.
type agentWatch struct {
	mu     sync.Mutex
	cond   *sync.Cond
	agents map[string]*hsv1.HSAgent // by name
	byID   map[string]string        // agent ID -> name, from the identity Secrets' order
}

func watchAgents(ctx context.Context, b *testing.B, ns string) *agentWatch {
	restCfg, _ := testEnv(b)
	wc, err := client.NewWithWatch(restCfg, client.Options{Scheme: suite.scheme})
	if err != nil {
		b.Fatal(err)
	}
	w := &agentWatch{agents: map[string]*hsv1.HSAgent{}, byID: map[string]string{}}
	w.cond = sync.NewCond(&w.mu)
	var list hsv1.HSAgentList
	if err := wc.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	for i := range list.Items {
		w.agents[list.Items[i].Name] = &list.Items[i]
	}
	var secs corev1.SecretList
	if err := wc.List(ctx, &secs, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	for _, s := range secs.Items {
		if id := s.Annotations[AgentIDAnnotation]; id != "" {
			w.byID[id] = strings.TrimSuffix(s.Name, "-identity")
		}
	}
	wi, err := wc.Watch(ctx, &hsv1.HSAgentList{}, client.InNamespace(ns))
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for ev := range wi.ResultChan() {
			a, ok := ev.Object.(*hsv1.HSAgent)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			w.mu.Lock()
			w.agents[a.Name] = a
			w.cond.Broadcast()
			w.mu.Unlock()
		}
	}()
	go func() {
		<-ctx.Done()
		wi.Stop()
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
	return w
}

func (w *agentWatch) nameOf(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byID[id]
}

func (w *agentWatch) peerCount(name string) int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a := w.agents[name]; a != nil {
		return a.Status.PeerCount
	}
	return 0
}

// waitOne waits until ok holds for one agent; false on timeout.
func (w *agentWatch) waitOne(name string, timeout time.Duration, ok func(*hsv1.HSAgent) bool) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { w.mu.Lock(); w.cond.Broadcast(); w.mu.Unlock() })
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if a := w.agents[name]; a != nil && ok(a) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		w.cond.Wait()
	}
}

func (w *agentWatch) waitAll(b *testing.B, timeout time.Duration, ok func(*hsv1.HSAgent) bool) {
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		done := 0
		for _, a := range w.agents {
			if ok(a) {
				done++
			}
		}
		total := len(w.agents)
		w.mu.Unlock()
		if done == total {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d agents converged within %s", done, total, timeout)
		}
		time.Sleep(time.Second)
	}
}

// pollSeconds snapshots the status hub's poll-duration histogram.
func pollSeconds(b *testing.B) *dto.Histogram {
	var m dto.Metric
	if err := statusPollSeconds.Write(&m); err != nil {
		b.Fatal(err)
	}
	return m.GetHistogram()
}
