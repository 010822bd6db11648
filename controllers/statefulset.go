package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// reconcileStatefulSet applies the agent's single-pod StatefulSet and derives
// the Available condition from it.
func (r *HSAgentReconciler) reconcileStatefulSet(ctx context.Context, s *agentScope) error {
	agent := s.agent
	in := agentPodInputs{
		Image:          agent.Spec.Pod.Image,
		Relay:          agent.Spec.Relay,
		DatabaseSecret: r.databaseSecretName(agent),
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
	case in.DatabaseSecret == "":
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonNoDatabase, errNoDatabase.Error())
		return nil
	case in.Image == "":
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonNoImage,
			"set spec.pod.image or the operator's --agent-image")
		return nil
	}
	in.IdentityHash = s.identity.hash()

	sts := desiredStatefulSet(agent, in)
	if err := r.Client.Apply(ctx, sts, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		err = fmt.Errorf("apply StatefulSet %s/%s: %w", agent.Namespace, agent.Name, err)
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonStatefulSetFailed, err.Error())
		r.warningEvent(agent, EventStatefulSetFailed, "Apply", "%s", err.Error())
		return err
	}

	var ready int32
	if sts.Status != nil && sts.Status.ReadyReplicas != nil {
		ready = *sts.Status.ReadyReplicas
	}
	switch {
	case agent.Spec.Paused:
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonPaused, "spec.paused is true; the agent runs no pod")
	case ready >= 1:
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionTrue, ReasonPodReady, "the agent pod is ready")
	default:
		setCondition(agent, hsv1.ConditionAvailable, metav1.ConditionFalse, ReasonPodNotReady,
			"waiting for the agent pod to report ready (relay connected, database reachable)")
	}
	return nil
}
