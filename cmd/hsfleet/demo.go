package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
	"github.com/hsfleet/hsfleet/agent/engine"
	"github.com/hsfleet/hsfleet/agent/protocol"
	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
)

func init() {
	register(command{name: "demo", summary: "run a relay and N agents in one process on embedded SQLite", run: runDemo})
}

// errNoCycles: the demo ran but no cycle completed.
var errNoCycles = errors.New("no handshake cycle completed")

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("agents", 3, "number of agents")
	duration := fs.Duration("duration", 20*time.Second, "how long to run")
	dir := fs.String("dir", "", "directory for the SQLite databases (default: a temp dir, removed at exit)")
	logLevel := fs.String("log-level", "warn", "agent and relay log level (logs go to stderr)")
	page := fs.String("http-listen", "127.0.0.1:0", "address of the mesh web page (\"off\" disables it)")
	staleAfter := fs.Duration("stale-after", 0, "a pair with no cycle for this long is stale (0: scaled to the fleet size)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 2 || *n > 64 {
		return fmt.Errorf("--agents %d: want 2..64", *n)
	}
	logger, err := newRelayLogger(*logLevel, "text")
	if err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "hsfleet-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	d := &demo{out: os.Stdout, logger: logger, dir: *dir, started: time.Now(), staleAfter: *staleAfter}
	if *page != "off" {
		d.listen = *page
	}
	d.tty, d.color = stdoutTerminal()
	return d.run(ctx, *n, *duration)
}

// demo is a relay plus N agents in fleet trust mode, each on its own
// SQLite database, as the reference keeps one database per agent.
type demo struct {
	out     io.Writer
	logger  *slog.Logger
	dir     string
	started time.Time

	listen     string        // mesh page address; "" serves none
	staleAfter time.Duration // 0: scaled to the fleet size
	tty, color bool          // redraw in place (and in colour) on a terminal
	onPage     func(url string)

	mu      sync.Mutex
	stores  []*store.Store
	stops   map[string]context.CancelFunc // agent name → stop
	stopped map[string]bool               // agent ID → stopped by stopAgent
	drawn   int                           // lines of the last in-place draw
	names   map[string]string             // agent ID → name
	cycles  map[[2]string]int             // (initiator name, responder name) → cycles
	lat     []time.Duration               // register/reconnect → CLOSE SUCCESS
	authed  map[string]bool               // agent name → proved its ID to the relay (last handshake)
}

func (d *demo) run(ctx context.Context, n int, duration time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	d.names, d.cycles = map[string]string{}, map[[2]string]int{}
	d.stops, d.stopped, d.authed = map[string]context.CancelFunc{}, map[string]bool{}, map[string]bool{}
	if d.staleAfter <= 0 {
		d.staleAfter = autoStaleAfter(n)
	}
	ids := make([]*crypto.Identity, n)
	bundle := trust.Bundle{}
	var err error
	for i := range ids {
		if ids[i], err = crypto.NewIdentity(fmt.Sprintf("agent-%d", i+1)); err != nil {
			return err
		}
		bundle[ids[i].ID] = ids[i].SignPub()
		d.names[ids[i].ID] = ids[i].Name
	}
	// The relay gets the fleet's bundle, as in a cluster: the agents prove
	// their IDs and their conversations are delivered to each other only.
	bundleFile, err := writeBundleFile(d.dir, bundle)
	if err != nil {
		return err
	}
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0", TrustBundle: bundleFile, DirectedRouting: true}, d.logger)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Serve(ctx) }()
	fmt.Fprintf(d.out, "hsfleet demo: relay on %s, %d agents (fleet trust, sealed messages), SQLite in %s, running %s\n\n",
		srv.Addr(), n, d.dir, duration)
	defer func() {
		for _, st := range d.stores {
			st.Close()
		}
	}()
	for _, id := range ids {
		st, err := store.OpenWithOptions(ctx, "sqlite:"+filepath.Join(d.dir, "HSAgent-"+id.ID+".db"),
			store.Options{Logger: d.logger})
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		d.mu.Lock()
		d.stores = append(d.stores, st)
		d.mu.Unlock()
		if err := d.startAgent(ctx, &wg, id, st, srv.Addr().String(), trust.NewPolicy(trust.Fleet, bundle)); err != nil {
			cancel()
			wg.Wait()
			return err
		}
	}
	if d.listen != "" {
		stopPage, err := d.servePage()
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		defer stopPage() // before the stores close (defers run last first)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			if d.tty {
				d.redraw(ctx)
			} else {
				d.printTable(false)
			}
		}
	}
	wg.Wait() // every agent finished its in-flight writes
	return d.printTable(true)
}

func (d *demo) startAgent(ctx context.Context, wg *sync.WaitGroup, id *crypto.Identity, st *store.Store,
	addr string, policy *trust.Policy) error {
	log := d.logger.With("agent", id.Name)
	ctx, stop := context.WithCancel(ctx)
	d.mu.Lock()
	d.stops[id.Name] = stop
	d.mu.Unlock()
	var eng *engine.Engine
	auth, err := relayClientAuth(relayAuthAuto, id)
	if err != nil {
		return err
	}
	client := relay.NewClient(relay.ClientConfig{Addr: addr, Logger: log, Auth: auth,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		OnAuth: func(o relay.AuthOutcome) {
			d.mu.Lock()
			d.authed[id.Name] = o.Authenticated
			d.mu.Unlock()
		},
		OnConnect: func() { eng.Kick() }})
	eng, err = engine.New(engine.Config{
		Identity: id, Name: id.Name, Version: softwareVersion(), Store: st, Agents: st,
		Transport: client, Policy: policy, Secure: true, StateTimeout: 5 * time.Second, Logger: log,
		OnCycle: d.onCycle,
	})
	if err != nil {
		return err
	}
	wg.Add(2)
	go func() { defer wg.Done(); client.Run(ctx) }()
	go func() { defer wg.Done(); eng.Run(ctx) }()
	return nil
}

// writeBundleFile writes the relay's copy of the fleet trust bundle.
func writeBundleFile(dir string, b trust.Bundle) (string, error) {
	data, err := b.Marshal()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "trust-bundle.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write trust bundle: %w", err)
	}
	return path, nil
}

// onCycle counts the cycles responders complete (close accepted): one per
// directed pair and cycle.
func (d *demo) onCycle(ev engine.CycleEvent) {
	if ev.Role != protocol.Responder {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cycles[[2]string{d.names[ev.PeerID], d.names[ev.SelfID]}]++
	if !ev.Started.IsZero() {
		d.lat = append(d.lat, ev.Completed.Sub(ev.Started))
	}
}

// printTable prints completed cycles per directed pair; the final call adds
// a summary and fails when nothing completed.
func (d *demo) printTable(final bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for _, name := range d.names {
		names = append(names, name)
	}
	slices.Sort(names)
	elapsed := time.Since(d.started).Truncate(100 * time.Millisecond)
	total := 0
	if final {
		fmt.Fprintf(d.out, "\n=== summary after %s ===\n", elapsed)
	} else {
		fmt.Fprintf(d.out, "[%s] completed cycles, initiator -> responder\n", elapsed)
	}
	for _, ini := range names {
		for _, resp := range names {
			if ini == resp {
				continue
			}
			c := d.cycles[[2]string{ini, resp}]
			total += c
			fmt.Fprintf(d.out, "  %-9s -> %-9s %6d\n", ini, resp, c)
		}
	}
	if !final {
		fmt.Fprintln(d.out)
		return nil
	}
	lat := slices.Clone(d.lat)
	slices.Sort(lat)
	fmt.Fprintf(d.out, "total cycles: %d (%.1f/s)\n", total, float64(total)/elapsed.Seconds())
	authed := 0
	for _, ok := range d.authed {
		if ok {
			authed++
		}
	}
	fmt.Fprintf(d.out, "relay authentication: %d of %d agents proved their ID (directed delivery)\n", authed, len(names))
	if len(lat) > 0 {
		fmt.Fprintf(d.out, "cycle latency register/reconnect -> CLOSE SUCCESS: p50 %s, p99 %s\n",
			lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	}
	if total == 0 {
		return errNoCycles
	}
	return nil
}
