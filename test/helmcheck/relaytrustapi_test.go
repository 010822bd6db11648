package helmcheck

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// relay.auth.source=api: the relay reads every namespace's trust bundle
// through the API with its own read-only ServiceAccount, mounts nothing,
// and may refuse unauthenticated clients even with agents elsewhere.
func TestRelayTrustFromTheAPI(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.auth.source=api",
		"--set", "relay.allowUnauthenticated=false", "--set", "rbac.clusterWide=true"))
	sts, pod := relayPod(t, objs)
	args := containerArgs(t, sts, "relay")
	if v, _ := argValue(args, "--trust-source"); v != "api" {
		t.Errorf("--trust-source = %q, want api", v)
	}
	if v, _ := argValue(args, "--allow-unauthenticated"); v != "false" {
		t.Errorf("--allow-unauthenticated = %q, want false", v)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--trust-bundle") {
			t.Errorf("api source but relay has %q", a)
		}
	}
	if vol, mount := relayTrustVolume(t, pod); vol != nil || mount != nil {
		t.Errorf("api source but trust volume %v / mount %v", vol, mount)
	}
	sa, _, _ := unstructured.NestedString(pod, "serviceAccountName")
	if auto, _, _ := unstructured.NestedBool(pod, "automountServiceAccountToken"); sa == "" || !auto {
		t.Errorf("relay pod: serviceAccountName %q, automount %v; want its own account with a token", sa, auto)
	}
	var role, binding *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			if strings.HasSuffix(o.GetName(), "-relay-trust") {
				role = o
			}
		case "ClusterRoleBinding":
			if strings.HasSuffix(o.GetName(), "-relay-trust") {
				binding = o
			}
		}
	}
	if role == nil || binding == nil {
		t.Fatalf("no relay trust ClusterRole (%v) / binding (%v)", role != nil, binding != nil)
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	if len(rules) != 1 {
		t.Fatalf("relay trust rules = %v, want one read-only configmaps rule", rules)
	}
	r := rules[0].(map[string]any)
	if res := r["resources"].([]any); len(res) != 1 || res[0] != "configmaps" {
		t.Errorf("resources = %v", res)
	}
	for _, v := range r["verbs"].([]any) {
		if v != "get" && v != "list" && v != "watch" {
			t.Errorf("relay may %v configmaps; want only get/list/watch", v)
		}
	}
	subs, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if len(subs) != 1 || subs[0].(map[string]any)["name"] != sa {
		t.Errorf("binding subjects %v, want the relay's ServiceAccount %q", subs, sa)
	}

	// The default (file) grants the relay nothing.
	for _, o := range decodeObjects(t, renderChart(t, releaseNS)) {
		if strings.HasSuffix(o.GetName(), "-relay-trust") {
			t.Errorf("file source renders %s %s", o.GetKind(), o.GetName())
		}
	}
}
