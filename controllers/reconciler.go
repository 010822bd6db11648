package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// HSAgentReconciler reconciles HSAgent objects.
type HSAgentReconciler struct {
	// Client reads from the manager's cache, which holds only labelled
	// Secrets, ConfigMaps and StatefulSets.
	Client client.Client
	// APIReader reads user-owned Secrets (database, passphrase) uncached.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  eventRecorder
	Stores    *StorePool
	Config    Config

	dsns    *dsnCache
	hub     *statusHub
	bundles bundleMemo

	// now is the clock; tests may replace it.
	now func() time.Time
}

// agentScope is what one reconcile knows; phases fill it in order.
type agentScope struct {
	agent    *hsv1.HSAgent
	identity *identityInfo
	// rotationErr: this pass failed to store rotated keys.
	rotationErr error
	// waitForCache: a phase changed an object the later phases read from
	// the cache; stop and let that object's watch event run the next pass.
	waitForCache bool
}

// phase is one ordered step of a reconcile.
type phase func(ctx context.Context, s *agentScope) error

// Reconcile runs the phases in order over one scope and patches status once,
// at the end, whatever happened.
func (r *HSAgentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	agent := &hsv1.HSAgent{}
	if err := r.Client.Get(ctx, req.NamespacedName, agent); err != nil {
		if apierrors.IsNotFound(err) {
			r.hub.Depart(req.NamespacedName, "") // gone without a deletion pass
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &agentScope{agent: agent}
	if !agent.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	if err := r.ensureFinalizer(ctx, agent); err != nil {
		return ctrl.Result{}, err
	}

	// One status patch per reconcile, whatever the phases did; the
	// observed generation only moves when they all succeeded.
	before := agent.DeepCopy()
	defer func() {
		if retErr == nil {
			agent.Status.ObservedGeneration = agent.Generation
		}
		setRotating(agent, s)
		setReady(agent)
		if err := r.patchStatus(ctx, before, agent); err != nil {
			if !errors.Is(err, errStatusConflict) {
				retErr = errors.Join(retErr, err)
				return
			}
			// Someone else wrote the object since the cache served it:
			// recompute from a fresh read instead of overwriting them.
			if retErr == nil && (res.RequeueAfter == 0 || res.RequeueAfter > statusConflictRetry) {
				res = ctrl.Result{RequeueAfter: jitter(statusConflictRetry)}
			}
		}
	}()
	initConditions(agent)
	for _, p := range []phase{
		r.reconcileAdoption,
		r.reconcileIdentity,
		r.reconcileTrustBundle,
		r.reconcileStatefulSet,
		r.reconcileHandshakeStatus,
	} {
		if err := p(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
		if s.waitForCache {
			return ctrl.Result{RequeueAfter: jitter(cacheWaitRetry)}, nil
		}
	}
	// No periodic requeue: the status hub enqueues the agent when its
	// database-derived status changes. Only an identity waiting on a user
	// object the operator does not watch (a passphrase Secret) is retried.
	if !meta.IsStatusConditionTrue(agent.Status.Conditions, hsv1.ConditionIdentityReady) {
		return ctrl.Result{RequeueAfter: jitter(r.Config.StatusInterval)}, nil
	}
	return ctrl.Result{}, nil
}

// cacheWaitRetry is the safety net when a phase waits for a watch event.
const cacheWaitRetry = 2 * time.Second

// jitter spreads retries over +0-10% so agents created together do not
// retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return wait.Jitter(d, 0.1)
}

// reconcileTrustBundle publishes the agent's signing key to its namespace.
func (r *HSAgentReconciler) reconcileTrustBundle(ctx context.Context, s *agentScope) error {
	if s.identity == nil {
		return nil
	}
	id := s.identity
	return r.updateTrustBundle(ctx, s.agent.Namespace, func(b trustBundle) bool { return b.set(id.ID, id.SignPublicKey) })
}

// SetupWithManager registers the controller and its status hub. Status-only
// updates of an HSAgent do not trigger a reconcile; spec, annotation
// (rotation) and deletion changes do, and so do changes to owned Secrets
// and StatefulSets, and the hub's events (database-derived status changed).
func (r *HSAgentReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Config = r.Config.withDefaults()
	if r.now == nil {
		r.now = time.Now
	}
	if r.Stores == nil {
		return errors.New("HSAgentReconciler needs a StorePool")
	}
	r.dsns = newDSNCache(r.APIReader)
	r.hub = newStatusHub(r.Config, r.Stores, r.dsns)
	r.hub.retained = durablyHiddenIDs(r.Client)
	if err := mgr.Add(r.hub); err != nil {
		return fmt.Errorf("add status hub: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&hsv1.HSAgent{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{},
		))).
		Owns(&corev1.Secret{}).
		Owns(&appsv1.StatefulSet{}).
		WatchesRawSource(source.TypedChannel(r.hub.events, statusEventHandler())).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Config.MaxConcurrentReconciles}).
		Named("hsagent").
		Complete(r)
}
