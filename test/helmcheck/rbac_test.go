package helmcheck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// permissions flattens RBAC rules into "group/resource:verb" strings.
func permissions(t *testing.T, role *unstructured.Unstructured) []string {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	var out []string
	for _, r := range rules {
		m := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(m, "apiGroups")
		resources, _, _ := unstructured.NestedStringSlice(m, "resources")
		verbs, _, _ := unstructured.NestedStringSlice(m, "verbs")
		for _, g := range groups {
			for _, res := range resources {
				for _, v := range verbs {
					out = append(out, g+"/"+res+":"+v)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// leaderElectionEvents are granted by the chart's leader-election Role even
// when the generated role lacks them: client-go's leader election records
// core/v1 Events, and without them the operator logs "events is forbidden"
// on every lease change (seen in the local cluster).
var leaderElectionEvents = []string{"/events:create", "/events:patch"}

// TestChartRBACMatchesGeneratedRole keeps the chart's hand-templated rules
// equal to what the operator's kubebuilder markers generate: a missing
// permission breaks the operator, an extra one breaks least privilege.
func TestChartRBACMatchesGeneratedRole(t *testing.T) {
	generated := filepath.Join(repoRoot(t), "config", "rbac", "role.yaml")
	data, err := os.ReadFile(generated)
	if os.IsNotExist(err) {
		t.Skip("config/rbac/role.yaml is not generated yet (make manifests)")
	}
	if err != nil {
		t.Fatal(err)
	}
	want := permissions(t, mustFind(t, decodeObjects(t, string(data)), "ClusterRole", "*", "hsfleet-operator"))

	// The chart splits the same permissions over the operator ClusterRole, a
	// leader-election Role and a metrics-auth ClusterRole: compare the union.
	objs := decodeObjects(t, renderChart(t, releaseNS, append(valuesFiles["cluster-wide"], "--set", "operator.metrics.secure=true")...))
	var got []string
	for _, name := range []string{"hsfleet-operator", "hsfleet-leader-election", "hsfleet-metrics-auth"} {
		role := find(objs, "ClusterRole", "*", name)
		if role == nil {
			role = mustFind(t, objs, "Role", releaseNS, name)
		}
		got = append(got, permissions(t, role)...)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	var missing, extra []string
	for _, p := range want {
		if !slices.Contains(got, p) {
			missing = append(missing, p)
		}
	}
	for _, p := range got {
		if !slices.Contains(want, p) && !slices.Contains(leaderElectionEvents, p) {
			extra = append(extra, p)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("chart RBAC (templates/_rbac-rules.tpl, rbac.yaml) differs from config/rbac/role.yaml\nmissing: %v\nextra:   %v", missing, extra)
	}
}
