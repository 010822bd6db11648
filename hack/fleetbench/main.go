// Command fleetbench measures a fleet of separate hsfleet agent processes
// against one relay and one throwaway durable PostgreSQL: time until every
// directed pair has completed a cycle, cycles/s over time, server
// connections, commits per cycle, agent RSS and CPU per cycle.
// See docs/fleet-bench.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "github.com/lib/pq"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func main() {
	o, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	converged, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
	if !converged {
		os.Exit(1)
	}
}

const fleetDB = "fleet"

func run(ctx context.Context, o *options) (bool, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(bin); err != nil {
		return false, fmt.Errorf("binary: %w (make build, or -bin PATH)", err)
	}
	dir, err := os.MkdirTemp("", "hsfleet-fleetbench-")
	if err != nil {
		return false, err
	}
	if o.keepDir {
		fmt.Println("fleetbench: temp dir", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	t0 := time.Now()
	ids, bundle, err := createIdentities(ctx, bin, dir, o.n, 2, o.caps)
	if err != nil {
		return false, err
	}
	fmt.Printf("fleetbench: %d identities and a trust bundle in %.1fs\n", o.n, time.Since(t0).Seconds())

	copts := pgtest.ClusterOptions{Durable: true, MaxConnections: o.maxConnections}
	if o.statements {
		copts.Settings = statementsSettings
	}
	cluster, err := pgtest.StartCluster(copts)
	if err != nil {
		return false, err
	}
	defer func() {
		if err := cluster.Destroy(); err != nil {
			fmt.Fprintln(os.Stderr, "fleetbench:", err)
		}
	}()
	dsn, err := createFleetDB(ctx, cluster.AdminDSN())
	if err != nil {
		return false, err
	}
	mon, err := newMonitor(ctx, dsn, fleetDB)
	if err != nil {
		return false, err
	}
	defer mon.close()
	if o.statements {
		if err := mon.enableStatements(ctx); err != nil {
			return false, err
		}
	}

	sp := newSpawner()
	logs := newLogCounter()
	var children []*child
	defer func() { stopAll(children, 10*time.Second) }()

	relayAddr, err := freeAddr()
	if err != nil {
		return false, err
	}
	relayMetrics, err := freeAddr()
	if err != nil {
		return false, err
	}
	relayArgs := []string{"relay", "--listen", relayAddr, "--metrics-listen", relayMetrics}
	if o.directed {
		relayArgs = append(relayArgs, "--directed-routing")
	}
	if o.relayAuth {
		relayArgs = append(relayArgs, "--trust-bundle", bundle)
	}
	relayArgs = append(relayArgs, o.relayArgs...)
	relay, err := startChild(sp, "relay", bin, relayArgs, nil, logs)
	if err != nil {
		return false, err
	}
	children = append(children, relay)
	if err := waitListening(ctx, relayAddr, relay, 15*time.Second); err != nil {
		return false, err
	}

	r := newRun(o, sp, mon, relay, logs)
	if r.server, err = findServer(ctx, mon); err != nil {
		return false, err
	}
	r.relayMetrics = "http://" + relayMetrics + "/metrics"
	agentDSN, err := withDBParams(dsn, o.dbParams)
	if err != nil {
		return false, err
	}
	r.connectTimeout = dsnParam(agentDSN, "connect_timeout")
	fmt.Printf("fleetbench: N=%d agents (%d directed pairs), relay %s, trust %s, durable PostgreSQL max_connections=%s "+
		"fsync=%s synchronous_commit=%s, binary %s, agent args %q, agent env %q, bundle caps %q, "+
		"agents start %s, agent connect_timeout=%s, load average %s\n",
		o.n, r.pairsTotal, relayMode(o), o.trustMode, mon.serverSetting(ctx, "max_connections"),
		mon.serverSetting(ctx, "fsync"), mon.serverSetting(ctx, "synchronous_commit"), bin, o.agentArgs, o.agentEnv, o.caps,
		startLimit(o.startConcurrency), r.connectTimeout, loadAverage())
	if err := r.begin(ctx); err != nil {
		return false, err
	}
	r.gate = newStartGate(o.startConcurrency, startSlotLimit)
	for i, id := range ids {
		args := []string{"agent", "--name", id.Name, "--relay", relayAddr, "--db", agentDSN,
			"--identity", id.File, "--http-listen="}
		if o.trustMode == "fleet" {
			args = append(args, "--trust-bundle", bundle, "--trust-mode", "fleet")
		} else {
			args = append(args, "--trust-mode", "open")
		}
		args = append(args, o.agentArgs...)
		if err := r.gate.enter(ctx); err != nil {
			return false, err
		}
		c, err := startChild(sp, id.Name, bin, args, o.agentEnv, logs)
		if err != nil {
			return false, err
		}
		r.gate.holdUntilUp(c)
		children = append(children, c)
		r.agents = append(r.agents, c)
		if i < len(ids)-1 && o.spacing > 0 {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(o.spacing):
			}
		}
	}
	fmt.Printf("fleetbench: %d agents started in %.1fs\n", o.n, time.Since(r.start).Seconds())
	converged := r.watch(ctx)
	r.stopPerf() // when the run ended before the window closed
	kindErr := r.report(context.WithoutCancel(ctx))
	if o.statements {
		r.printStatements(context.WithoutCancel(ctx), 15)
	}
	if kindErr != nil {
		fmt.Println("fleetbench: EXPECT FAILED:", kindErr)
		return false, nil
	}
	return converged, nil
}

func relayMode(o *options) string {
	mode := "broadcast"
	if o.directed {
		mode = "directed-routing"
	}
	if o.relayAuth {
		mode = "auth" // directed for proven IDs unless a -relay-arg says otherwise
		if o.directed {
			mode = "auth+directed-routing"
		}
	}
	return mode
}

// createFleetDB creates the agents' database and returns its DSN.
func createFleetDB(ctx context.Context, adminDSN string) (string, error) {
	mon, err := newMonitor(ctx, adminDSN, "postgres")
	if err != nil {
		return "", err
	}
	defer mon.close()
	if _, err := mon.db.ExecContext(ctx, `CREATE DATABASE `+fleetDB); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(adminDSN)
	if err != nil {
		return "", err
	}
	u.Path = "/" + fleetDB
	return u.String(), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func waitListening(ctx context.Context, addr string, c *child, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if !c.running() {
			return fmt.Errorf("%s exited: %v; last log line: %s", c.name, c.err, c.logs.last(c.name))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v", c.name, addr, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
