package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
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
	register(command{name: "agent", summary: "run one HSAgent_1 handshake agent", run: func(ctx context.Context, args []string) error {
		// The process only, not runAgent: tests run agents in-process.
		applyAgentTimerSlack(os.Getenv) // first: it may exec the binary again
		applyAgentProcs(os.Getenv)
		return runAgent(ctx, args)
	}})
}

// agentOptions are the flags of `hsfleet agent` (deployment contract).
type agentOptions struct {
	name, namespace, relayAddr, dsn    string
	identity, passphraseFile           string
	trustBundle, trustMode, httpListen string
	exchangeLimit, maxPeers, maxActive int
	dbMaxConns                         int
	registerInterval, stateTimeout     time.Duration
	retryInterval, cycleInterval       time.Duration
	secure, createIdentity, logSent    bool
	dbAsyncCommit, legacyCycle         bool
	logLevel, logFormat                string
	relayAuth                          string
}

func agentFlags(fs *flag.FlagSet) *agentOptions {
	o := &agentOptions{}
	fs.StringVar(&o.name, "name", "", "agent name (required); the identity file defaults to id_agent_<name>.json")
	fs.StringVar(&o.namespace, "namespace", "", "Kubernetes namespace, recorded in the agents table")
	fs.StringVar(&o.relayAddr, "relay", "127.0.0.1:8888", "relay HOST:PORT")
	fs.StringVar(&o.relayAuth, "relay-auth", relayAuthAuto, "prove this agent's ID to the relay with its identity key: "+
		"auto (when the relay has a trust bundle; else go on unauthenticated: a relay without the protocol costs a 3 s wait per connect), "+
		"required (never talk to the relay unauthenticated; redial with backoff) or off (docs/relay-auth.md)")
	fs.StringVar(&o.dsn, "db", "", "database DSN: postgres://... or sqlite:PATH (required)")
	fs.StringVar(&o.identity, "identity", "", "sealed identity file (default id_agent_<name>.json)")
	fs.StringVar(&o.passphraseFile, "passphrase-file", "", "file holding the identity passphrase (default: the reference's my_id_pw_<name>)")
	fs.StringVar(&o.trustBundle, "trust-bundle", "", "trust bundle JSON file {agentID: base64 Ed25519 key}; reloaded when it changes")
	fs.StringVar(&o.trustMode, "trust-mode", "", "fleet, tofu or open (default fleet with --trust-bundle, else open)")
	fs.StringVar(&o.httpListen, "http-listen", ":8080", "HTTP address for /healthz, /readyz and /metrics (empty: off)")
	fs.IntVar(&o.exchangeLimit, "exchange-limit", protocol.DefaultExchangeLimit, "request/respond rounds before the initiator concludes")
	fs.IntVar(&o.maxActive, "max-active-cycles", engine.DefaultMaxActiveCycles, "most responder cycles run at once; further starts queue (bounds database load). The engine lowers it while cycles run slow (see docs/engine-scale.md)")
	fs.IntVar(&o.maxPeers, "max-peers", engine.DefaultMaxPeers, "most peers to keep conversations with")
	fs.DurationVar(&o.registerInterval, "register-interval", engine.DefaultRegisterInterval, "interval between register broadcasts (±20% jitter)")
	fs.DurationVar(&o.stateTimeout, "state-timeout", protocol.DefaultStateTimeout, "time without progress after which a conversation recovers")
	fs.DurationVar(&o.retryInterval, "retry-interval", engine.DefaultRetryInterval, "interval between re-sends of an unanswered message")
	fs.DurationVar(&o.cycleInterval, "cycle-interval", 0, "pause between a completed cycle and the next one per pair (0: back to back)")
	fs.BoolVar(&o.secure, "secure", true, "seal messages in sec envelopes once a session key exists")
	fs.IntVar(&o.dbMaxConns, "db-max-conns", store.DefaultAgentMaxConns, "most PostgreSQL connections this agent opens; a fleet of N agents needs N times this (see docs/database.md)")
	fs.BoolVar(&o.logSent, "log-sent-nonces", false, "also log our own nonces in nonce_event, as the reference does (more database writes)")
	fs.BoolVar(&o.dbAsyncCommit, "db-async-commit", true, "PostgreSQL synchronous_commit=off for this agent's sessions: "+
		"a database crash can lose the last ~0.6 s of state changes, which the protocol's retries and timeouts recover like lost messages (see docs)")
	fs.BoolVar(&o.legacyCycle, "legacy-cycle", false, "benchmarks only (docs/fleet-bench.md): run the pre-binding secure cycle, no hs bind, no hsf header, no finalize MAC; never in production")
	fs.BoolVar(&o.createIdentity, "create-identity", false, "create the identity file when it does not exist")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "json", "json or text")
	return o
}

func runAgent(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("agent", flag.ContinueOnError)
	o := agentFlags(fset)
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if o.name == "" || o.dsn == "" {
		fmt.Fprintln(os.Stderr, "hsfleet agent: --name and --db are required")
		fset.Usage()
		return errUsage
	}
	if o.dbMaxConns < 1 {
		fmt.Fprintln(os.Stderr, "hsfleet agent: --db-max-conns must be at least 1")
		return errUsage
	}
	logger, err := newRelayLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	if err := checkRelayAuthMode(o.relayAuth); err != nil {
		fmt.Fprintln(os.Stderr, "hsfleet agent: --"+err.Error())
		return errUsage
	}
	id, err := loadAgentIdentity(o, logger)
	if err != nil {
		return err
	}
	releaseUnsealMemory()
	policy, err := agentPolicy(o, logger)
	if err != nil {
		return err
	}
	st, err := openStoreWithRetry(ctx, o.dsn, store.Options{Logger: logger, AsyncCommit: o.dbAsyncCommit, MaxOpenConns: o.dbMaxConns}, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	return runAgentProcess(ctx, o, id, policy, st, logger)
}

// runAgentProcess wires the relay client, the engine, the trust bundle
// watcher and the HTTP endpoints, and stops them in order on shutdown:
// the engine finishes its in-flight writes before the caller closes the
// database.
func runAgentProcess(ctx context.Context, o *agentOptions, id *crypto.Identity, policy *trust.Policy,
	st *store.Store, logger *slog.Logger) error {
	var eng *engine.Engine
	auth, err := relayClientAuth(o.relayAuth, id)
	if err != nil {
		return err
	}
	link := newRelayLink(o.relayAddr, logger)
	client := relay.NewClient(relay.ClientConfig{Addr: o.relayAddr, Logger: logger,
		Auth: auth, OnAuth: link.onAuth,
		OnConnect: func() {
			link.onConnect()
			eng.Kick()
		},
		OnDisconnect: link.onDisconnect})
	eng, err = engine.New(engine.Config{
		Identity: id, Name: o.name, Namespace: o.namespace, Version: softwareVersion(),
		Store: st, Agents: st, Transport: client, Policy: policy, Secure: o.secure, LogSentNonces: o.logSent,
		ExchangeLimit: o.exchangeLimit, RegisterInterval: o.registerInterval, RetryInterval: o.retryInterval, CycleInterval: o.cycleInterval,
		StateTimeout: o.stateTimeout, MaxPeers: o.maxPeers, MaxActiveCycles: o.maxActive, Logger: logger,
		DisableBinding: o.legacyCycle,
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	goRun := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	goRun(func() error { return client.Run(runCtx) })
	goRun(func() error { return eng.Run(runCtx) })
	if policy.Mode() == trust.Fleet {
		goRun(func() error {
			policy.WatchFile(runCtx, o.trustBundle, trust.DefaultWatchInterval, logger, nil)
			return nil
		})
	}
	if o.httpListen != "" {
		srv, err := newAgentHTTP(o.httpListen, eng, link, logger)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		goRun(func() error { return srv.serve(runCtx) })
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// loadAgentIdentity opens the sealed identity file, creating it first when
// asked to.
func loadAgentIdentity(o *agentOptions, logger *slog.Logger) (*crypto.Identity, error) {
	path := o.identity
	if path == "" {
		path = crypto.IdentityFileName(o.name)
	}
	pass := crypto.DefaultPassphrase(o.name)
	if o.passphraseFile != "" {
		p, err := crypto.ReadPassphraseFile(o.passphraseFile)
		if err != nil {
			return nil, err
		}
		pass = p
	}
	id, err := crypto.LoadIdentityFile(path, pass)
	if err == nil {
		return id, nil
	}
	if !o.createIdentity || !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	if o.passphraseFile == "" {
		// As `identity new` does: the reference rule protects nothing.
		logger.Warn("no --passphrase-file: sealing the new identity with the HSAgent_1 reference passphrase, which is derived from the name and is NOT a secret",
			"path", path, "passphrase_rule", "my_id_pw_<name>")
	}
	id, err = crypto.NewIdentity(o.name)
	if err != nil {
		return nil, err
	}
	if err := crypto.CreateIdentityFile(path, id, pass); err != nil {
		return nil, fmt.Errorf("create identity: %w", err)
	}
	logger.Info("identity created", "path", path, "agent_id", id.ID)
	return id, nil
}

// agentPolicy builds the trust policy. A fleet bundle that is missing or
// bad at start-up leaves the agent talking to nobody until the file is
// fixed (the watcher picks it up), rather than crash-looping.
func agentPolicy(o *agentOptions, logger *slog.Logger) (*trust.Policy, error) {
	mode := trust.Open
	if o.trustBundle != "" {
		mode = trust.Fleet
	}
	if o.trustMode != "" {
		m, err := trust.ParseMode(o.trustMode)
		if err != nil {
			return nil, err
		}
		mode = m
	}
	p := trust.NewPolicy(mode, nil)
	if mode != trust.Fleet {
		return p, nil
	}
	if o.trustBundle == "" {
		return nil, errors.New("trust mode fleet needs --trust-bundle")
	}
	if err := p.LoadFile(o.trustBundle); err != nil {
		logger.Warn("trust bundle not loaded yet; ignoring every peer until it is", "error", err)
	}
	return p, nil
}

// openStoreWithRetry waits for the database: in a cluster it often starts
// after the agent.
//
// Agents commit asynchronously by default (--db-async-commit): a database
// crash loses at most the last ~0.6 s of commits, as a consistent tail.
// To the protocol that is the same as those messages being lost on the
// wire, which its re-sends and per-state timeouts already recover from;
// the nonce replay defence stays sound because a conversation's row and
// the nonces it recorded roll back together (one statement or
// transaction). Cycle counts can lose the same tail.
func openStoreWithRetry(ctx context.Context, dsn string, opts store.Options, logger *slog.Logger) (*store.Store, error) {
	backoff := 500 * time.Millisecond
	for {
		st, err := store.OpenWithOptions(ctx, dsn, opts)
		if err == nil {
			return st, nil
		}
		if errors.Is(err, store.ErrUnsupportedDSN) {
			return nil, err
		}
		logger.Warn("database not reachable, retrying", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open database: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}
