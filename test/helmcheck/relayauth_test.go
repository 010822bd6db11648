package helmcheck

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// relayTrustVolume returns the relay pod's "trust" volume and the relay
// container's mount of it (nil when absent).
func relayTrustVolume(t *testing.T, pod map[string]any) (vol, mount map[string]any) {
	t.Helper()
	vols, _, _ := unstructured.NestedSlice(pod, "volumes")
	for _, v := range vols {
		if m := v.(map[string]any); m["name"] == "trust" {
			vol = m
		}
	}
	c := pod["containers"].([]any)[0].(map[string]any)
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	for _, v := range mounts {
		if m := v.(map[string]any); m["name"] == "trust" {
			mount = m
		}
	}
	return vol, mount
}

// TestRelayAuthenticatesWithTheReleaseNamespaceBundle: by default the relay
// mounts the operator's trust bundle ConfigMap of its own namespace
// (optional: it appears with the first HSAgent), read-only, points
// --trust-bundle at it and serves Python clients unauthenticated.
func TestRelayAuthenticatesWithTheReleaseNamespaceBundle(t *testing.T) {
	sts, pod := relayPod(t, decodeObjects(t, renderChart(t, releaseNS)))
	args := containerArgs(t, sts, "relay")
	if v, _ := argValue(args, "--trust-bundle"); v != "/etc/hsfleet/trust/trust-bundle.json" {
		t.Errorf("--trust-bundle = %q", v)
	}
	if v, _ := argValue(args, "--allow-unauthenticated"); v != "true" {
		t.Errorf("--allow-unauthenticated = %q, want true (Python agents join by default)", v)
	}
	vol, mount := relayTrustVolume(t, pod)
	if vol == nil || mount == nil {
		t.Fatalf("no trust volume/mount: volume %v, mount %v", vol, mount)
	}
	if name, _, _ := unstructured.NestedString(vol, "configMap", "name"); name != "hsfleet-trust" {
		t.Errorf("trust volume ConfigMap = %q, want the operator's hsfleet-trust", name)
	}
	if opt, _, _ := unstructured.NestedBool(vol, "configMap", "optional"); !opt {
		t.Error("trust ConfigMap must be optional: it exists only once an HSAgent does")
	}
	items, _, _ := unstructured.NestedSlice(vol, "configMap", "items")
	if len(items) != 1 || items[0].(map[string]any)["key"] != "trust-bundle.json" {
		t.Errorf("trust volume items = %v, want the trust-bundle.json key", items)
	}
	if mount["mountPath"] != "/etc/hsfleet/trust" || mount["readOnly"] != true {
		t.Errorf("trust mount = %v, want read-only at /etc/hsfleet/trust", mount)
	}
}

func TestRelayAuthValues(t *testing.T) {
	t.Run("refusing unauthenticated clients", func(t *testing.T) {
		sts, _ := relayPod(t, decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.allowUnauthenticated=false")))
		if v, _ := argValue(containerArgs(t, sts, "relay"), "--allow-unauthenticated"); v != "false" {
			t.Errorf("--allow-unauthenticated = %q, want false", v)
		}
	})
	t.Run("auth off: no bundle, no flags", func(t *testing.T) {
		sts, pod := relayPod(t, decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.auth.enabled=false")))
		for _, a := range containerArgs(t, sts, "relay") {
			if strings.HasPrefix(a, "--trust-bundle") || strings.HasPrefix(a, "--allow-unauthenticated") {
				t.Errorf("auth disabled but relay has %q", a)
			}
		}
		if vol, mount := relayTrustVolume(t, pod); vol != nil || mount != nil {
			t.Errorf("auth disabled but trust volume %v / mount %v", vol, mount)
		}
	})
	for _, tc := range []struct {
		name    string
		set     []string
		mention string
	}{
		{"refusing unauthenticated clients without a bundle",
			[]string{"relay.auth.enabled=false", "relay.allowUnauthenticated=false"}, "needs relay.auth.enabled"},
		{"refusing unauthenticated clients with agents in other namespaces",
			[]string{"relay.allowUnauthenticated=false", "agentNamespaces={team-a}"}, "outside the release namespace"},
		{"refusing unauthenticated clients cluster-wide",
			[]string{"relay.allowUnauthenticated=false", "rbac.clusterWide=true"}, "outside the release namespace"},
		{"refusing unauthenticated clients with the api source but auth off",
			[]string{"relay.auth.enabled=false", "relay.auth.source=api", "relay.allowUnauthenticated=false"}, "needs relay.auth.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "hsfleet", "charts/hsfleet", "--namespace", releaseNS, "--kube-version", kubeVersion}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, errOut, err := helm(t, args...)
			if err == nil || !strings.Contains(errOut, tc.mention) {
				t.Fatalf("helm template with %v: err %v, want a failure naming %q:\n%s", tc.set, err, tc.mention, errOut)
			}
		})
	}
	t.Run("the api source may require agents of other namespaces to authenticate", func(t *testing.T) {
		renderChart(t, releaseNS, "--set", "relay.auth.source=api", "--set", "relay.allowUnauthenticated=false", "--set", "agentNamespaces={"+releaseNS+",team-a}")
	})
	t.Run("agents in the release namespace may be required to authenticate", func(t *testing.T) {
		renderChart(t, releaseNS, "--set", "relay.allowUnauthenticated=false", "--set", "agentNamespaces={"+releaseNS+"}")
	})
}
