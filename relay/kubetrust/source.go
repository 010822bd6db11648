package kubetrust

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/hsfleet/hsfleet/agent/trust"
	"github.com/hsfleet/hsfleet/relay"
)

// The operator's names (controllers/names.go; a test checks they match,
// without making the relay import the operator).
const (
	ConfigMapName  = "hsfleet-trust"
	BundleKey      = "trust-bundle.json"
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "hsfleet-operator"
)

// Source watches the hsfleet-trust ConfigMaps of every namespace.
type Source struct {
	client kubernetes.Interface
	log    *slog.Logger
	synced atomic.Bool

	mu        sync.Mutex
	parsed    map[string]parsedCM // namespace -> last ConfigMap seen
	conflicts map[string]string   // id -> namespaces last logged as conflicting
}

// parsedCM is the last version of one namespace's ConfigMap: its
// resourceVersion and the last good parse (ok false: none yet).
type parsedCM struct {
	rv     string
	bundle nsBundle
	ok     bool
}

var _ relay.TrustSource = (*Source)(nil)

// New returns a source reading through cfg (in a pod: the relay
// ServiceAccount, which needs get/list/watch on configmaps cluster-wide).
func New(cfg *rest.Config, logger *slog.Logger) (*Source, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("trust bundles from the API: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Source{client: cs, log: logger, parsed: map[string]parsedCM{}, conflicts: map[string]string{}}, nil
}

// Synced reports whether the first full list has been merged.
func (s *Source) Synced() bool { return s.synced.Load() }

// Watch lists and watches the ConfigMaps until ctx ends and calls update
// after every change, coalescing bursts.
func (s *Source) Watch(ctx context.Context, update func(relay.TrustUpdate)) {
	factory := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue}).String()
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", ConfigMapName).String()
	}))
	inf := factory.Core().V1().ConfigMaps()
	kick := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, n any) { poke(n) }, DeleteFunc: poke,
	}); err != nil {
		update(relay.TrustUpdate{Err: err})
		return
	}
	lister := inf.Lister()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return
	}
	for {
		cms, err := lister.List(labels.Everything())
		if err != nil {
			update(relay.TrustUpdate{Err: err})
		} else {
			s.rebuild(cms, update)
			s.synced.Store(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
	}
}

// rebuild parses the changed ConfigMaps and hands the merged bundle to
// update. A ConfigMap that does not parse keeps its namespace's previous
// bundle (a half-written one must not lock its agents out), is logged and
// counted once per version.
func (s *Source) rebuild(cms []*corev1.ConfigMap, update func(relay.TrustUpdate)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(cms))
	for _, cm := range cms {
		seen[cm.Namespace] = true
		prev, had := s.parsed[cm.Namespace]
		if had && prev.rv == cm.ResourceVersion {
			continue
		}
		keys, caps, extra, err := trust.ParseBundleKeys([]byte(cm.Data[BundleKey]))
		if err != nil {
			s.log.Warn("trust bundle ConfigMap unreadable; keeping its namespace's previous bundle",
				"namespace", cm.Namespace, "configmap", cm.Name, "resource_version", cm.ResourceVersion, "error", err)
			update(relay.TrustUpdate{Err: fmt.Errorf("%s/%s: %w", cm.Namespace, cm.Name, err)})
			prev.rv = cm.ResourceVersion
			s.parsed[cm.Namespace] = prev
			continue
		}
		s.parsed[cm.Namespace] = parsedCM{rv: cm.ResourceVersion, bundle: nsBundle{keys: keys, caps: caps, extra: extra}, ok: true}
	}
	byNS := make(map[string]nsBundle, len(s.parsed))
	for ns, p := range s.parsed {
		if !seen[ns] {
			delete(s.parsed, ns)
			continue
		}
		if p.ok {
			byNS[ns] = p.bundle
		}
	}
	m := merge(byNS)
	s.logConflicts(m.conflicts)
	s.log.Info("trust bundles merged", "namespaces", len(byNS), "agents", len(m.keys), "conflicts", len(m.conflicts))
	update(relay.TrustUpdate{Keys: m.keys, Caps: m.caps, Extra: m.extra, Conflicts: len(m.conflicts)})
}

// logConflicts logs each conflict once, when it appears or its
// namespaces change.
func (s *Source) logConflicts(cs []Conflict) {
	now := make(map[string]string, len(cs))
	for _, c := range cs {
		nss := strings.Join(c.Namespaces, ",")
		now[c.ID] = nss
		if s.conflicts[c.ID] != nss {
			s.log.Warn("agent ID listed with different keys by several namespaces' trust bundles; accepting it from none",
				"agent_id", c.ID, "namespaces", nss)
		}
	}
	for id := range s.conflicts {
		if _, ok := now[id]; !ok {
			s.log.Info("trust bundle conflict resolved", "agent_id", id)
		}
	}
	s.conflicts = now
}
