package helmcheck

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestUninstallCheckIsAPreDeleteHookThatOnlyListsHSAgents: the hook Job
// runs `hsfleet uninstall-check` on the agent namespaces with a
// ServiceAccount that may only list HSAgents there (cluster-wide only with
// rbac.clusterWide), all as pre-delete hooks; it can be turned off.
func TestUninstallCheckIsAPreDeleteHookThatOnlyListsHSAgents(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS))
	job := mustFind(t, objs, "Job", releaseNS, "hsfleet-uninstall-check")
	sa := mustFind(t, objs, "ServiceAccount", releaseNS, "hsfleet-uninstall-check")
	role := mustFind(t, objs, "Role", releaseNS, "hsfleet-uninstall-check")
	binding := mustFind(t, objs, "RoleBinding", releaseNS, "hsfleet-uninstall-check")
	for _, o := range []*unstructured.Unstructured{job, sa, role, binding} {
		if o.GetAnnotations()["helm.sh/hook"] != "pre-delete" {
			t.Errorf("%s %s is not a pre-delete hook: %v", o.GetKind(), o.GetName(), o.GetAnnotations())
		}
	}
	if got := permissions(t, role); len(got) != 1 || got[0] != "hsfleet.io/hsagents:list" {
		t.Errorf("uninstall check Role grants %v, want only hsfleet.io/hsagents:list", got)
	}
	args := containerArgs(t, job, "uninstall-check")
	for _, want := range []string{"uninstall-check", "--namespaces=" + releaseNS, "--release=" + releaseNS + "/hsfleet"} {
		if !hasArg(args, want) {
			t.Errorf("uninstall check args %q lack %q", args, want)
		}
	}
	if v, _, _ := unstructured.NestedString(job.Object, "spec", "template", "spec", "serviceAccountName"); v != "hsfleet-uninstall-check" {
		t.Errorf("job ServiceAccount = %q", v)
	}
	if n := intField(job.Object, "spec", "backoffLimit"); n != 0 {
		t.Errorf("backoffLimit = %d, want 0: one refusal fails the uninstall at once", n)
	}
	assertRestricted(t, job)

	wide := decodeObjects(t, renderChart(t, releaseNS, "--set", "rbac.clusterWide=true"))
	cr := mustFind(t, wide, "ClusterRole", "*", "hsfleet-uninstall-check")
	if got := permissions(t, cr); len(got) != 1 || got[0] != "hsfleet.io/hsagents:list" {
		t.Errorf("cluster-wide uninstall check grants %v", got)
	}
	if !hasArg(containerArgs(t, mustFind(t, wide, "Job", releaseNS, "hsfleet-uninstall-check"), "uninstall-check"), "--namespaces=") {
		t.Error("cluster-wide uninstall check must look in every namespace")
	}

	off := decodeObjects(t, renderChart(t, releaseNS, "--set", "uninstallCheck.enabled=false"))
	if find(off, "Job", "*", "hsfleet-uninstall-check") != nil || find(off, "Role", "*", "hsfleet-uninstall-check") != nil {
		t.Error("uninstallCheck.enabled=false still renders the hook")
	}
}
