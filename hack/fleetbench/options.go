package main

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"time"
)

type options struct {
	n                int
	bin              string
	timeout, settle  time.Duration
	interval, sample time.Duration
	spacing          time.Duration
	startConcurrency int
	directed         bool
	relayAuth        bool
	trustMode        string
	maxConnections   int
	relayArgs        multiFlag
	agentArgs        []string
	agentEnv         multiFlag // KEY=VALUE added to every agent's environment
	keepDir          bool
	dbParams         string
	statements       bool
	warmup, duration time.Duration
	expect           string
	caps             []string
	perf             string
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
	fs.IntVar(&o.startConcurrency, "start-concurrency", 4*runtime.NumCPU(), "at most this many agents starting at once: each holds a slot "+
		"until it logs \""+agentUpMsg+"\" (store open, rows created), exits, or "+startSlotLimit.String()+" pass; 0: no limit")
	fs.BoolVar(&o.directed, "directed-routing", false, "run the relay with --directed-routing")
	fs.BoolVar(&o.relayAuth, "relay-auth", false, "give the relay the fleet's trust bundle: agents authenticate (their default --relay-auth auto) "+
		"and the relay routes directed lines to proven IDs (its default with a bundle; -relay-arg=--directed-routing=false for broadcast)")
	fs.StringVar(&o.trustMode, "trust-mode", "fleet", "fleet (identities and a trust bundle made up front) or open")
	fs.IntVar(&o.maxConnections, "max-connections", 1000, "PostgreSQL max_connections")
	fs.Var(&o.relayArgs, "relay-arg", "extra relay flag (repeatable), e.g. -relay-arg=--queue-bytes=8388608")
	fs.Var(&o.agentEnv, "agent-env", "KEY=VALUE added to every agent's environment (repeatable), e.g. -agent-env GOGC=50 -agent-env GOMEMLIMIT=20MiB")
	fs.StringVar(&o.dbParams, "db-params", "", "agent DSN query parameters, replacing the harness's own, e.g. hsfleet_prepare=off or connect_timeout=15")
	fs.BoolVar(&o.statements, "statements", false, "load pg_stat_statements and print the fleet's statements per cycle at the end")
	fs.BoolVar(&o.keepDir, "keep-dir", false, "keep the temp dir with identities and bundle")
	fs.DurationVar(&o.duration, "duration", 0, "measure a fixed window of this length after -warmup and stop then, converged or not "+
		"(0: stop after convergence plus -settle); for comparing builds")
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "with -duration: time after the first agent start before the window opens")
	fs.StringVar(&o.expect, "expect", "", "verified or legacy: exit 1 unless every cycle measured was of that kind "+
		"(role_state.verified_cycles; docs/protocol.md §7.4)")
	fs.StringVar(&o.perf, "perf", "", "with -duration: record the agents' call stacks with Linux perf over the window into this file "+
		"(perf report -i FILE --no-children --sort sym; docs/fleet-bench.md)")
	capsList := fs.String("caps", "", "comma-separated caps for every bundle entry, e.g. bind1 (the operator's object form); default the string form")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *capsList != "" {
		o.caps = strings.Split(*capsList, ",")
	}
	o.agentArgs = fs.Args()
	for _, kv := range o.agentEnv {
		if key, _, ok := strings.Cut(kv, "="); !ok || key == "" || strings.ContainsAny(key, " \t\x00") {
			return nil, fmt.Errorf("-agent-env %q: want KEY=VALUE", kv)
		}
	}
	switch {
	case o.n < 2:
		return nil, fmt.Errorf("-n must be at least 2")
	case o.trustMode != "fleet" && o.trustMode != "open":
		return nil, fmt.Errorf("-trust-mode must be fleet or open")
	case o.interval <= 0 || o.sample <= 0 || o.sample > o.interval:
		return nil, fmt.Errorf("need 0 < -sample <= -interval")
	case o.relayAuth && o.trustMode != "fleet":
		return nil, fmt.Errorf("-relay-auth needs -trust-mode fleet (the bundle)")
	case o.startConcurrency < 0:
		return nil, fmt.Errorf("-start-concurrency must not be negative")
	case o.maxConnections < 10:
		return nil, fmt.Errorf("-max-connections must be at least 10")
	case o.duration < 0 || o.warmup < 0:
		return nil, fmt.Errorf("-duration and -warmup must not be negative")
	case o.expect != "" && o.expect != "verified" && o.expect != "legacy":
		return nil, fmt.Errorf("-expect must be verified or legacy")
	case o.perf != "" && o.duration == 0:
		return nil, fmt.Errorf("-perf needs -duration (it records the window)")
	case len(o.caps) > 0 && o.trustMode != "fleet":
		return nil, fmt.Errorf("-caps needs -trust-mode fleet (the bundle)")
	}
	return o, nil
}
