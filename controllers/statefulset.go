package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// reconcileStatefulSet applies the agent's single-pod StatefulSet and derives
// the Available condition from it.
func (r *HSAgentReconciler) reconcileStatefulSet(ctx context.Context, s *agentScope) error {
	agent := s.agent
	in := agentPodInputs{
		Image:       agent.Spec.Pod.Image,
		Relay:       agent.Spec.Relay,
		Database:    r.databaseSecret(agent),
		Knobs:       r.knobs(agent),
		PullSecrets: pullSecrets(agent, r.Config),
	}
	if in.Image == "" {
		in.Image = r.Config.AgentImage
	}
	if in.Relay == "" {
		in.Relay = r.Config.DefaultRelay
	}
	// Missing configuration is the user's to fix; no pod is better than a
	// crash-looping one.
	switch {
	case s.identity == nil:
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonWaitingForIdentity, "the identity is not stored yet")
		return nil
	case in.Relay == "":
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonNoRelay,
			"set spec.relay or the operator's --default-relay")
		return nil
	case in.Database.Name == "":
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonNoDatabase, errNoDatabase.Error())
		return nil
	case in.Image == "":
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonNoImage,
			"set spec.pod.image or the operator's --agent-image")
		return nil
	}
	in.IdentityHash = s.identity.hash()
	hash, err := r.dsns.hash(ctx, agent.Namespace, in.Database)
	if err != nil {
		return fmt.Errorf("database Secret of %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	in.DatabaseHash = hash

	state, err := r.applyStatefulSet(ctx, agent, desiredStatefulSet(agent, in))
	if err != nil {
		err = fmt.Errorf("apply StatefulSet %s/%s: %w", agent.Namespace, agent.Name, err)
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonStatefulSetFailed, err.Error())
		r.warningEvent(agent, EventStatefulSetFailed, "Apply", "%s", err.Error())
		return err
	}
	switch {
	case agent.Spec.Paused:
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonPaused, "spec.paused is true; the agent runs no pod")
	default:
		status, reason, msg := state.availability()
		setCondition(agent, hsv1.ConditionAvailable, status, reason, msg)
	}
	return nil
}

// applyStatefulSet applies the intent unless the cached StatefulSet carries
// the same intent hash, and returns its rollout state. Drift in fields the
// operator sets is corrected whenever the intent changes or the hash
// annotation is removed, not on every reconcile: at fleet size an apply per
// agent per pass was most of the operator's API traffic.
func (r *HSAgentReconciler) applyStatefulSet(ctx context.Context, agent *hsv1.HSAgent, sts *appsv1ac.StatefulSetApplyConfiguration) (rollout, error) {
	hash, err := applyHash(sts)
	if err != nil {
		return rollout{}, err
	}
	sts.WithAnnotations(map[string]string{SpecHashAnnotation: hash})
	var cur appsv1.StatefulSet
	err = r.Client.Get(ctx, types.NamespacedName{Namespace: agent.Namespace, Name: agent.Name}, &cur)
	switch {
	case err == nil && cur.Annotations[SpecHashAnnotation] == hash && cur.DeletionTimestamp.IsZero():
		statefulSetApplies.WithLabelValues("skipped_unchanged").Inc()
		return rolloutOf(&cur), nil
	case err != nil && !apierrors.IsNotFound(err):
		return rollout{}, fmt.Errorf("read cached StatefulSet: %w", err)
	}
	if err := r.Client.Apply(ctx, sts, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		statefulSetApplies.WithLabelValues("error").Inc()
		return rollout{}, err
	}
	statefulSetApplies.WithLabelValues("applied").Inc()
	return rolloutOfApplied(sts), nil
}

// applyHash is a digest of the apply configuration (JSON with sorted map
// keys, so stable across runs).
func applyHash(sts *appsv1ac.StatefulSetApplyConfiguration) (string, error) {
	b, err := json.Marshal(sts)
	if err != nil {
		return "", fmt.Errorf("hash StatefulSet intent: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// pullSecrets are the agent pod's image pull secrets: the HSAgent's own
// list replaces the operator's default, never merges with it.
func pullSecrets(agent *hsv1.HSAgent, cfg Config) []string {
	if len(agent.Spec.Pod.ImagePullSecrets) == 0 {
		return cfg.AgentImagePullSecrets
	}
	names := make([]string, 0, len(agent.Spec.Pod.ImagePullSecrets))
	for _, s := range agent.Spec.Pod.ImagePullSecrets {
		names = append(names, s.Name)
	}
	return names
}
