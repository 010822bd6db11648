package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The operator's default pull secrets reach agent pods; an HSAgent's own
// list replaces them.
func TestImagePullSecretsDefaultAndOverride(t *testing.T) {
	ns := newNamespace(t)
	cfg := testOperatorConfig()
	cfg.AgentImagePullSecrets = []string{"regcred", "mirror"}
	startOperator(t, ns, cfg)
	_, c := testEnv(t)

	createHSAgent(t, newHSAgent(ns, "defaulted"))
	own := newHSAgent(ns, "own")
	own.Spec.Pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "team-cred"}}
	createHSAgent(t, own)

	for name, want := range map[string][]string{"defaulted": {"regcred", "mirror"}, "own": {"team-cred"}} {
		eventually(t, 30*time.Second, func() error {
			var sts appsv1.StatefulSet
			if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &sts); err != nil {
				return err
			}
			var got []string
			for _, s := range sts.Spec.Template.Spec.ImagePullSecrets {
				got = append(got, s.Name)
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s: imagePullSecrets %v, want %v", name, got, want)
			}
			return nil
		})
	}
}
