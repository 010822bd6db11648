package helmcheck

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The chart's imagePullSecrets reach the operator pod and, through the
// operator's --agent-image-pull-secrets, every agent pod it creates.
func TestImagePullSecretsReachOperatorAndAgentPods(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS,
		"--set", "imagePullSecrets[0].name=regcred", "--set", "imagePullSecrets[1].name=mirror"))
	op := mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	got, ok := argValue(containerArgs(t, op, "operator"), "--agent-image-pull-secrets")
	if !ok || got != "regcred,mirror" {
		t.Errorf("--agent-image-pull-secrets = %q (set %v), want regcred,mirror", got, ok)
	}
	secrets, _, _ := unstructured.NestedSlice(op.Object, "spec", "template", "spec", "imagePullSecrets")
	var names []string
	for _, s := range secrets {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"regcred", "mirror"}) {
		t.Errorf("operator pod imagePullSecrets = %v", names)
	}

	objs = decodeObjects(t, renderChart(t, releaseNS))
	if _, ok := argValue(containerArgs(t, mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator"), "operator"),
		"--agent-image-pull-secrets"); ok {
		t.Error("no imagePullSecrets must render no --agent-image-pull-secrets")
	}
}
