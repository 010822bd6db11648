package main

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

type options struct {
	n                int
	bin              string
	timeout, settle  time.Duration
	interval, sample time.Duration
	spacing          time.Duration
	directed         bool
	relayAuth        bool
	trustMode        string
	maxConnections   int
	relayArgs        multiFlag
	agentArgs        []string
	keepDir          bool
	dbParams         string
	statements       bool
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const usage = `usage: fleetbench [flags] [-- agent flags...]

Starts a throwaway durable PostgreSQL, one hsfleet relay and N separate
hsfleet agent processes, and reports convergence, cycles/s over time,
connections, commits per cycle, RSS and CPU per cycle (docs/fleet-bench.md).
Everything after -- is passed to every agent, e.g. -- --cycle-interval=1s --db-max-conns=1.

`

func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fleetbench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	fs.IntVar(&o.n, "n", 10, "number of agent processes")
	fs.StringVar(&o.bin, "bin", "bin/hsfleet", "hsfleet binary for the agents and the relay (e.g. a baseline build)")
	fs.DurationVar(&o.timeout, "timeout", 240*time.Second, "give up (exit 1) if not every directed pair has cycled by then")
	fs.DurationVar(&o.settle, "settle", 10*time.Second, "keep measuring this long after convergence")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "print a progress line this often")
	fs.DurationVar(&o.sample, "sample", 500*time.Millisecond, "sample connections, RSS and CPU this often")
	fs.DurationVar(&o.spacing, "spacing", 10*time.Millisecond, "pause between agent starts")
	fs.BoolVar(&o.directed, "directed-routing", false, "run the relay with --directed-routing")
	fs.BoolVar(&o.relayAuth, "relay-auth", false, "give the relay the fleet's trust bundle: agents authenticate (their default --relay-auth auto) "+
		"and the relay routes directed lines to proven IDs (its default with a bundle; -relay-arg=--directed-routing=false for broadcast)")
	fs.StringVar(&o.trustMode, "trust-mode", "fleet", "fleet (identities and a trust bundle made up front) or open")
	fs.IntVar(&o.maxConnections, "max-connections", 1000, "PostgreSQL max_connections")
	fs.Var(&o.relayArgs, "relay-arg", "extra relay flag (repeatable), e.g. -relay-arg=--queue-bytes=8388608")
	fs.StringVar(&o.dbParams, "db-params", "", "extra agent DSN query parameters, e.g. hsfleet_prepare=off")
	fs.BoolVar(&o.statements, "statements", false, "load pg_stat_statements and print the fleet's statements per cycle at the end")
	fs.BoolVar(&o.keepDir, "keep-dir", false, "keep the temp dir with identities and bundle")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.agentArgs = fs.Args()
	switch {
	case o.n < 2:
		return nil, fmt.Errorf("-n must be at least 2")
	case o.trustMode != "fleet" && o.trustMode != "open":
		return nil, fmt.Errorf("-trust-mode must be fleet or open")
	case o.interval <= 0 || o.sample <= 0 || o.sample > o.interval:
		return nil, fmt.Errorf("need 0 < -sample <= -interval")
	case o.relayAuth && o.trustMode != "fleet":
		return nil, fmt.Errorf("-relay-auth needs -trust-mode fleet (the bundle)")
	case o.maxConnections < 10:
		return nil, fmt.Errorf("-max-connections must be at least 10")
	}
	return o, nil
}
