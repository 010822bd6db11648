package controllers

import (
	"errors"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// LeaderElectionID is fixed so every operator replica competes for one lease.
const LeaderElectionID = "hsfleet-operator.hsfleet.io"

// NewScheme holds the built-in types and hsfleet.io/v1alpha1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := hsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// CacheOptions scopes the manager's cache: the given namespaces (all when
// empty), and only the Secrets, ConfigMaps and StatefulSets the operator
// labels, so memory does not grow with the cluster's other objects.
func CacheOptions(namespaces []string) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue})
	opts := cache.Options{
		// managedFields are most of a server-side applied object's size
		// and nothing the operator reads.
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:      {Label: owned},
			&corev1.ConfigMap{}:   {Label: owned},
			&appsv1.StatefulSet{}: {Label: owned},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// ManagerOptions are the process-level settings of `hsfleet operator`.
type ManagerOptions struct {
	// Namespaces to manage; empty means all.
	Namespaces []string
	// MetricsAddr is the metrics listen address; "0" disables metrics.
	MetricsAddr string
	// MetricsFilter, when set, serves metrics over HTTPS behind it
	// (authentication and authorization).
	MetricsFilter func(*rest.Config, *http.Client) (metricsserver.Filter, error)
	// ProbeAddr serves /healthz and /readyz; "0" disables them.
	ProbeAddr string
	// LeaderElect turns on leader election on LeaderElectionID.
	LeaderElect             bool
	LeaderElectionNamespace string
	// SkipControllerNameValidation lets one process run several managers
	// (tests only).
	SkipControllerNameValidation bool
}

// Operator is a built manager and what its caller needs besides it.
type Operator struct {
	Manager ctrl.Manager
	// Stores is closed by the caller after Manager.Start returns.
	Stores *StorePool
	// Mesh reads the status hub's cache for the mesh metrics and page.
	Mesh *FleetMesh
}

// NewOperator builds the operator's manager with the HSAgent controller.
// The caller runs Manager.Start and closes Stores after it returns.
func NewOperator(restCfg *rest.Config, opts ManagerOptions, cfg Config) (*Operator, error) {
	mgr, stores, mesh, err := newManager(restCfg, opts, cfg)
	if err != nil {
		return nil, err
	}
	return &Operator{Manager: mgr, Stores: stores, Mesh: mesh}, nil
}

func newManager(restCfg *rest.Config, opts ManagerOptions, cfg Config) (ctrl.Manager, *StorePool, *FleetMesh, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("scheme: %w", err)
	}
	metricsOpts := metricsserver.Options{BindAddress: opts.MetricsAddr}
	if opts.MetricsFilter != nil {
		metricsOpts.SecureServing = true
		metricsOpts.FilterProvider = opts.MetricsFilter
	}
	mgrOpts := ctrl.Options{
		Scheme:                        scheme,
		Cache:                         CacheOptions(opts.Namespaces),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        opts.ProbeAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	}
	if opts.SkipControllerNameValidation {
		skip := true
		mgrOpts.Controller = ctrlconfig.Controller{SkipNameValidation: &skip}
	}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, nil, nil, fmt.Errorf("health check: %w", err)
	}
	// Ready once the caches have synced, so a rollout waits for a replica
	// that can actually reconcile.
	if err := mgr.AddReadyzCheck("readyz", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("caches not synced")
		}
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("ready check: %w", err)
	}
	stores := NewStorePool(cfg.DatabaseTimeout)
	r := &HSAgentReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Recorder:  mgr.GetEventRecorder("hsfleet-operator"),
		Stores:    stores,
		Config:    cfg,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("set up HSAgent controller: %w", err), stores.Close())
	}
	return mgr, stores, &FleetMesh{hub: r.hub}, nil
}
