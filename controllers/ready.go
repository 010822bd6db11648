package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// setReady summarises IdentityReady and Available into Ready, the
// condition kstatus, `kubectl wait --for=condition=Ready` and GitOps health
// checks read. Handshaking and PeersCycling depend on other agents and
// stay out of it: a lone agent is still a healthy one.
func setReady(agent *hsv1.HSAgent) {
	for _, typ := range []string{hsv1.ConditionIdentityReady, hsv1.ConditionAvailable} {
		c := meta.FindStatusCondition(agent.Status.Conditions, typ)
		switch {
		case c == nil:
			setCondition(agent, hsv1.ConditionReady, metav1.ConditionUnknown, ReasonReconciling, typ+" is not evaluated yet")
			return
		case c.Status != metav1.ConditionTrue:
			setCondition(agent, hsv1.ConditionReady, c.Status, c.Reason, typ+": "+c.Message)
			return
		}
	}
	setCondition(agent, hsv1.ConditionReady, metav1.ConditionTrue, ReasonReady, "identity stored and the agent pod is available")
}

// setRotating: True from a rotation request until the old key left the
// trust bundle, with the step as its reason (rotation.go); False with
// RotationFailed when the rotation could not start (the old keys stay in
// use), True with RotationStepFailed when a step of a started rotation
// failed (it resumes); False with RotationComplete once it ended. Derived
// from stored state (the identity Secret's rotation annotations), so a
// lost status patch cannot lose it.
func setRotating(agent *hsv1.HSAgent, s *agentScope) {
	cur := meta.FindStatusCondition(agent.Status.Conditions, hsv1.ConditionRotating)
	id := s.identity
	inProgress := id != nil && id.rotation.active()
	switch {
	case s.rotationErr != nil && inProgress:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRotationStepFailed,
			"retrying, the rotation resumes where it stopped: "+s.rotationErr.Error())
	case s.rotationErr != nil:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationFailed,
			"keeping the current keys: "+s.rotationErr.Error())
	case inProgress && id.progress.reason != "":
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionTrue, id.progress.reason, id.progress.message)
	case inProgress || id == nil:
		// Nothing new learnt this pass; keep what is there.
	case cur == nil:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonNoRotation, "no rotation in progress")
	case cur.Status != metav1.ConditionFalse:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete,
			fmt.Sprintf("rotation done: the agent pod runs with the rotated keys and the old key left the trust bundle (last requested rotation %q)", id.RotatedFor))
	}
}
