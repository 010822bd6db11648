package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/hsfleet/hsfleet/agent/store"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// DatabaseDSNKey is the default key of the database Secret holding the
// DSN (spec.database.secretRef.key, --default-database-secret-key).
const DatabaseDSNKey = "dsn"

// databaseRef is the Secret key the agent and the operator read the DSN
// from; the zero value means no database is configured.
type databaseRef struct {
	Name, Key string
}

// maxDSNLength bounds a DSN read from a Secret.
const maxDSNLength = 4096

// Reasons a database cannot be used; each maps to a condition reason.
var (
	errNoDatabase            = errors.New("no database configured: set spec.database.secretRef or the operator's --default-database-secret")
	errDatabaseSecretMissing = errors.New("database Secret not found")
	errDatabaseSecretInvalid = errors.New("database Secret has no usable DSN key")
	errDatabaseUnreachable   = errors.New("database unreachable")
)

// agentStateStore is what the reconciler needs from agent/store.
type agentStateStore interface {
	Summary(ctx context.Context, selfID string, limit int) (store.AgentSummary, error)
	DeleteAgentState(ctx context.Context, agentID string) error
}

// databaseSecret is the Secret key the agent and the operator read the DSN
// from: spec.database.secretRef, else the operator's default Secret and key.
func (r *HSAgentReconciler) databaseSecret(agent *hsv1.HSAgent) databaseRef {
	if d := agent.Spec.Database; d != nil && d.SecretRef.Name != "" {
		return databaseRef{Name: d.SecretRef.Name, Key: cmp.Or(d.SecretRef.Key, DatabaseDSNKey)}
	}
	if r.Config.DefaultDatabaseSecret == "" {
		return databaseRef{}
	}
	return databaseRef{Name: r.Config.DefaultDatabaseSecret, Key: cmp.Or(r.Config.DefaultDatabaseSecretKey, DatabaseDSNKey)}
}

// openAgentStore resolves the agent's database Secret (through the DSN
// cache) and returns a store for it.
func (r *HSAgentReconciler) openAgentStore(ctx context.Context, agent *hsv1.HSAgent) (agentStateStore, error) {
	ref := r.databaseSecret(agent)
	if ref.Name == "" {
		return nil, errNoDatabase
	}
	dsn, err := r.dsns.resolve(ctx, agent.Namespace, ref)
	if err != nil {
		return nil, err
	}
	st, err := r.Stores.Get(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// storeOpener opens a store for a DSN; agent/store.Open in production.
type storeOpener func(ctx context.Context, dsn string) (*store.Store, error)

// DefaultStoreIdleTimeout is how long a store no reconcile asked for stays
// open. Status refreshes ask every --status-interval, so only stores of
// rotated DSNs, or of namespaces without agents left, reach it.
const DefaultStoreIdleTimeout = 5 * time.Minute

// StorePool shares one store (one connection pool) per DSN across
// reconciles. Failed opens are remembered for a short while, so a dead
// database costs one timeout per retry period, not one per reconcile.
// Stores unused for idleTimeout are closed, so a rotated DSN does not leak
// its pool; idleTimeout is far above the per-reconcile database timeout, so
// no caller still holds an evicted store (and sql.DB.Close lets in-flight
// queries finish anyway).
type StorePool struct {
	open        storeOpener
	retryAfter  time.Duration
	timeout     time.Duration
	idleTimeout time.Duration
	now         func() time.Time

	opening singleflight.Group // one open per DSN in flight

	mu       sync.Mutex
	stores   map[[32]byte]*pooledStore
	failures map[[32]byte]poolFailure
}

type pooledStore struct {
	st       *store.Store
	lastUsed time.Time
}

type poolFailure struct {
	at  time.Time
	err error
}

// NewStorePool returns a pool that opens stores with agent/store.Open.
func NewStorePool(openTimeout time.Duration) *StorePool {
	if openTimeout <= 0 {
		openTimeout = DefaultDatabaseTimeout
	}
	return &StorePool{
		open:        store.Open,
		retryAfter:  10 * time.Second,
		timeout:     openTimeout,
		idleTimeout: DefaultStoreIdleTimeout,
		now:         time.Now,
		stores:      map[[32]byte]*pooledStore{},
		failures:    map[[32]byte]poolFailure{},
	}
}

// Get returns the open store for dsn, opening it on first use. Only one
// caller opens a given DSN at a time (singleflight); the others wait for its
// result, or for their own context, rather than hold the pool lock through
// a slow connect. Errors wrap errDatabaseUnreachable and never contain the
// DSN (it may hold a password).
func (p *StorePool) Get(ctx context.Context, dsn string) (*store.Store, error) {
	key := sha256.Sum256([]byte(dsn))
	p.closeIdle(ctx)
	if st, ok, err := p.known(key); ok {
		return st, err
	}
	res := p.opening.DoChan(string(key[:]), func() (any, error) {
		// An open that ended since known() above has recorded its result.
		if st, ok, err := p.known(key); ok {
			return st, err
		}
		return p.openAndRecord(ctx, key, dsn)
	})
	select {
	case r := <-res:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*store.Store), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errDatabaseUnreachable, ctx.Err())
	}
}

// known returns the open store for key, or its recent open failure; ok is
// false when the DSN has to be opened.
func (p *StorePool) known(key [32]byte) (st *store.Store, ok bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ps, found := p.stores[key]; found {
		ps.lastUsed = p.now()
		return ps.st, true, nil
	}
	if f, found := p.failures[key]; found && p.now().Sub(f.at) < p.retryAfter {
		return nil, true, f.err
	}
	return nil, false, nil
}

func (p *StorePool) openAndRecord(ctx context.Context, key [32]byte, dsn string) (*store.Store, error) {
	openCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	st, err := p.open(openCtx, withConnectTimeout(dsn, p.timeout))

	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		databaseErrors.WithLabelValues("open").Inc()
		err = fmt.Errorf("%w: %s", errDatabaseUnreachable, redactDSN(err.Error(), dsn))
		p.failures[key] = poolFailure{at: p.now(), err: err}
		return nil, err
	}
	delete(p.failures, key)
	p.stores[key] = &pooledStore{st: st, lastUsed: p.now()}
	return st, nil
}

// closeIdle closes the stores nobody asked for within idleTimeout, and
// forgets failures older than the retry period (a DSN that was rotated away
// is never asked for again).
func (p *StorePool) closeIdle(ctx context.Context) {
	var idle []*store.Store
	p.mu.Lock()
	now := p.now()
	for k, ps := range p.stores {
		if now.Sub(ps.lastUsed) > p.idleTimeout {
			idle = append(idle, ps.st)
			delete(p.stores, k)
		}
	}
	for k, f := range p.failures {
		if now.Sub(f.at) >= p.retryAfter {
			delete(p.failures, k)
		}
	}
	p.mu.Unlock()
	for _, st := range idle {
		idleStoresClosed.Inc()
		if err := st.Close(); err != nil {
			log.FromContext(ctx).Info("closing an idle database pool failed", "error", err.Error())
		}
	}
}

// Close closes every store; the pool must not be used afterwards.
func (p *StorePool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for k, ps := range p.stores {
		errs = append(errs, ps.st.Close())
		delete(p.stores, k)
	}
	return errors.Join(errs...)
}

// withConnectTimeout adds connect_timeout to a PostgreSQL URL that has
// none. lib/pq honours the context only while dialling: a server that
// accepts the connection and never answers the startup would otherwise
// hold the caller (a status poll, a deletion) forever. Unparsable DSNs are
// returned unchanged for the opener to reject.
func withConnectTimeout(dsn string, d time.Duration) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn
	}
	q := u.Query()
	if q.Get("connect_timeout") != "" {
		return dsn
	}
	q.Set("connect_timeout", strconv.Itoa(max(int(d.Round(time.Second)/time.Second), 1)))
	u.RawQuery = q.Encode()
	return u.String()
}
