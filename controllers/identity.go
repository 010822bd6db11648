package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/hsfleet/hsfleet/agent/crypto"
	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// reconcileIdentity makes sure the agent has a sealed identity: generated
// once, never overwritten, replaced by new keys under the same ID only when
// the rotate-identity annotation asks for it, through a rotation with
// overlap (rotation.go).
func (r *HSAgentReconciler) reconcileIdentity(ctx context.Context, s *agentScope) error {
	agent := s.agent
	var sec corev1.Secret
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: IdentitySecretName(agent)}, &sec)
	if apierrors.IsNotFound(err) && agent.Status.AgentID != "" {
		// The cache may lag behind a Secret created moments ago; only the
		// API server can say it is really gone.
		err = r.APIReader.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: IdentitySecretName(agent)}, &sec)
		if apierrors.IsNotFound(err) {
			return r.identityLost(agent)
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		info, err := r.createIdentity(ctx, agent)
		if errors.Is(err, errPassphraseMissing) || errors.Is(err, errPassphraseInvalid) {
			// The user's Secret is not watched (it carries no operator
			// label): the periodic refresh picks it up, not an error backoff
			// that grows to minutes.
			return nil
		}
		if err != nil {
			return err
		}
		s.identity = &info
	case err != nil:
		return fmt.Errorf("read identity Secret: %w", err)
	default:
		info, err := identityFromSecret(&sec, agent)
		if err != nil {
			reason := ReasonIdentitySecretInvalid
			if errors.Is(err, errIdentitySecretNotOwned) {
				reason = ReasonIdentitySecretNotOwned
			}
			invalidObjects.WithLabelValues("identity-secret").Inc()
			setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionFalse, reason, err.Error())
			r.warningEvent(agent, EventIdentityFailed, "Validate", "%s", err.Error())
			// Only a change to the Secret can fix this; its watch requeues.
			return reconcile.TerminalError(err)
		}
		rotated, err := r.reconcileRotation(ctx, agent, &sec, info)
		if err != nil {
			identityOps.WithLabelValues("rotate", "error").Inc()
			r.warningEvent(agent, EventIdentityFailed, "Rotate", "rotation failed: %v", err)
			s.rotationErr = err
			if rotated.ID != "" {
				s.identity = &rotated // the keys in use, for the conditions
			}
			return err
		}
		info = rotated
		s.identity = &info
	}

	agent.Status.AgentID = s.identity.ID
	agent.Status.Identity = &hsv1.IdentityStatus{
		SecretName:    IdentitySecretName(agent),
		SignPublicKey: s.identity.SignPublicKey,
		KxPublicKey:   s.identity.KxPublicKey,
		Rotation:      s.identity.RotatedFor,
	}
	setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionTrue, ReasonIdentityStored,
		"identity sealed in Secret "+IdentitySecretName(agent))
	return nil
}

// createIdentity generates and stores a new identity. Create never replaces
// an existing Secret, so a lagging cache cannot cause a regeneration: the
// loser of a race adopts the stored identity.
func (r *HSAgentReconciler) createIdentity(ctx context.Context, agent *hsv1.HSAgent) (identityInfo, error) {
	pass, err := r.ensurePassphrase(ctx, agent)
	if err != nil {
		setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonPassphraseUnavailable, err.Error())
		return identityInfo{}, err
	}
	id, err := crypto.NewIdentity(agent.Name)
	if err != nil {
		return identityInfo{}, r.identityFailed(agent, "generate identity", err)
	}
	sealed, err := crypto.SealIdentity(id, pass)
	if err != nil {
		return identityInfo{}, r.identityFailed(agent, "seal identity", err)
	}
	// A rotate annotation present at creation is already satisfied.
	info := infoFromIdentity(id, agent.Annotations[hsv1.RotateIdentityAnnotation])
	sec := identitySecret(agent, sealed, info)
	stampKeysCreated(sec, r.clock())
	if err := controllerutil.SetControllerReference(agent, sec, r.Scheme); err != nil {
		return identityInfo{}, fmt.Errorf("own identity Secret: %w", err)
	}
	if err := r.Client.Create(ctx, sec); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return r.adoptStoredIdentity(ctx, agent)
		}
		return identityInfo{}, r.identityFailed(agent, "create identity Secret", err)
	}
	identityOps.WithLabelValues("generate", "ok").Inc()
	log.FromContext(ctx).Info("identity created", "agentID", info.ID, "secret", sec.Name)
	r.normalEvent(agent, EventIdentityCreated, "Create", "generated identity %s in Secret %s", info.ID, sec.Name)
	return info, nil
}

func (r *HSAgentReconciler) adoptStoredIdentity(ctx context.Context, agent *hsv1.HSAgent) (identityInfo, error) {
	var sec corev1.Secret
	key := types.NamespacedName{Namespace: agent.Namespace, Name: IdentitySecretName(agent)}
	if err := r.APIReader.Get(ctx, key, &sec); err != nil {
		return identityInfo{}, fmt.Errorf("read existing identity Secret: %w", err)
	}
	return identityFromSecret(&sec, agent)
}

func (r *HSAgentReconciler) identityFailed(agent *hsv1.HSAgent, what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	identityOps.WithLabelValues("generate", "error").Inc()
	setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonIdentityFailed, err.Error())
	r.warningEvent(agent, EventIdentityFailed, "Create", "%s", err.Error())
	return err
}

// identityLost refuses to mint a new identity for an agent that already had
// one: peers, the database and operators know it by its ID, so a silent
// replacement would be worse than stopping.
func (r *HSAgentReconciler) identityLost(agent *hsv1.HSAgent) error {
	err := fmt.Errorf("%w: Secret %s/%s held identity %s; delete and recreate the HSAgent to start over with a new identity",
		errIdentitySecretLost, agent.Namespace, IdentitySecretName(agent), agent.Status.AgentID)
	setCondition(agent, hsv1.ConditionIdentityReady, metav1.ConditionFalse, ReasonIdentitySecretLost, err.Error())
	r.warningEvent(agent, EventIdentityFailed, "Validate", "%s", err.Error())
	return reconcile.TerminalError(err)
}
