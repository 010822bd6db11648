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

// setRotating: True from a rotation request until the pod with the new
// keys is available; False with RotationFailed when the keys could not be
// replaced (the old ones stay in use). Derived from stored state (the
// identity Secret's rotation and this condition's own message), so a lost
// status patch cannot lose it.
func setRotating(agent *hsv1.HSAgent, s *agentScope) {
	cur := meta.FindStatusCondition(agent.Status.Conditions, hsv1.ConditionRotating)
	want := agent.Annotations[hsv1.RotateIdentityAnnotation]
	done := fmt.Sprintf("rotation %q: the agent pod runs with the rotated keys", want)
	switch {
	case s.rotationErr != nil:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationFailed,
			"keeping the current keys: "+s.rotationErr.Error())
	case want != "" && s.identity != nil && s.identity.RotatedFor == want &&
		(cur == nil || cur.Reason != ReasonRotationComplete || cur.Message != done):
		if meta.IsStatusConditionTrue(agent.Status.Conditions, hsv1.ConditionAvailable) {
			setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonRotationComplete, done)
			return
		}
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionTrue, ReasonRollingOut,
			fmt.Sprintf("rotation %q: new keys stored; waiting for the agent pod to roll", want))
	case cur == nil:
		setCondition(agent, hsv1.ConditionRotating, metav1.ConditionFalse, ReasonNoRotation, "no rotation in progress")
	}
}
