package helmcheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// operatorSA is the ServiceAccount config/manager runs the operator as.
const operatorSA = "hsfleet-operator"

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

// unionPermissions flattens several roles into one sorted set.
func unionPermissions(t *testing.T, roles ...*unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, r := range roles {
		out = append(out, permissions(t, r)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// difference returns the entries of a that b lacks.
func difference(a, b []string) []string {
	var out []string
	for _, p := range a {
		if !slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	return out
}

// generatedRBAC reads config/rbac/role.yaml (controller-gen output).
func generatedRBAC(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "rbac", "role.yaml"))
	if os.IsNotExist(err) {
		t.Skip("config/rbac/role.yaml is not generated yet (make manifests)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, string(data))
}

// TestChartRBACMatchesGeneratedRoles keeps the chart's hand-templated rules
// equal, scope by scope, to what the operator's kubebuilder markers
// generate: a missing permission breaks the operator, an extra one (or one
// granted cluster-wide instead of in a namespace) breaks least privilege.
func TestChartRBACMatchesGeneratedRoles(t *testing.T) {
	gen := generatedRBAC(t)
	chart := decodeObjects(t, renderChart(t, releaseNS, append(valuesFiles["cluster-wide"], "--set", "operator.metrics.secure=true")...))
	cases := []struct {
		name  string
		want  []*unstructured.Unstructured
		chart []*unstructured.Unstructured
	}{
		{
			// The chart splits the cluster-wide rules over the operator
			// ClusterRole and the optional metrics-auth ClusterRole.
			name:  "cluster-wide ClusterRole",
			want:  []*unstructured.Unstructured{mustFind(t, gen, "ClusterRole", "*", "hsfleet-operator")},
			chart: []*unstructured.Unstructured{mustFind(t, chart, "ClusterRole", "*", "hsfleet-operator"), mustFind(t, chart, "ClusterRole", "*", "hsfleet-metrics-auth")},
		},
		{
			name:  "leader-election Role in the operator namespace",
			want:  []*unstructured.Unstructured{mustFind(t, gen, "Role", releaseNS, "hsfleet-leader-election")},
			chart: []*unstructured.Unstructured{mustFind(t, chart, "Role", releaseNS, "hsfleet-leader-election")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, got := unionPermissions(t, tc.want...), unionPermissions(t, tc.chart...)
			if len(want) == 0 {
				t.Fatal("generated role grants nothing")
			}
			missing, extra := difference(want, got), difference(got, want)
			if len(missing) > 0 || len(extra) > 0 {
				t.Fatalf("chart RBAC (templates/_rbac-rules.tpl, rbac.yaml) differs from config/rbac/role.yaml\nmissing: %v\nextra:   %v", missing, extra)
			}
		})
	}
}

// leaderElectionPermissions are what client-go's leader election does with
// its Lease and the core/v1 Events it records about it.
var leaderElectionPermissions = []string{
	"coordination.k8s.io/leases:get", "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update",
	"/events:create", "/events:patch",
}

// TestLeaderElectionPermissionsStayInTheOperatorNamespace checks that the
// generated manifests and every chart values set grant Leases and core
// Events through a Role in the operator's namespace and never cluster-wide
// (which would let the operator rewrite any controller's lease).
func TestLeaderElectionPermissionsStayInTheOperatorNamespace(t *testing.T) {
	sets := map[string][]*unstructured.Unstructured{"config/rbac": generatedRBAC(t)}
	for name, extra := range valuesFiles {
		sets["chart "+name] = decodeObjects(t, renderChart(t, releaseNS, extra...))
	}
	for name, objs := range sets {
		t.Run(name, func(t *testing.T) {
			for _, cr := range ofKind(objs, "ClusterRole") {
				for _, p := range permissions(t, cr) {
					if strings.HasPrefix(p, "coordination.k8s.io/leases:") || strings.HasPrefix(p, "/events:") {
						t.Errorf("ClusterRole %s grants %s cluster-wide", cr.GetName(), p)
					}
				}
			}
			role := mustFind(t, objs, "Role", releaseNS, "hsfleet-leader-election")
			if missing := difference(leaderElectionPermissions, permissions(t, role)); len(missing) > 0 {
				t.Errorf("leader-election Role lacks %v", missing)
			}
		})
	}
}

// TestKustomizeBindsEveryGeneratedRoleToTheOperator checks config/manager
// binds each generated ClusterRole and Role to the operator's
// ServiceAccount, in the Role's namespace: a generated Role nobody binds
// is a permission the operator silently lacks.
func TestKustomizeBindsEveryGeneratedRoleToTheOperator(t *testing.T) {
	gen := generatedRBAC(t)
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "manager", "service_account.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manager := decodeObjects(t, string(data))
	sa := mustFind(t, manager, "ServiceAccount", "*", operatorSA)
	roles := append(ofKind(gen, "ClusterRole"), ofKind(gen, "Role")...)
	if len(roles) < 2 {
		t.Fatalf("config/rbac/role.yaml holds %d roles, want the ClusterRole and the leader-election Role", len(roles))
	}
	for _, role := range roles {
		bindingKind := role.GetKind() + "Binding"
		t.Run(role.GetKind()+" "+role.GetName(), func(t *testing.T) {
			for _, b := range ofKind(manager, bindingKind) {
				if b.GetNamespace() != role.GetNamespace() {
					continue
				}
				kind, _, _ := unstructured.NestedString(b.Object, "roleRef", "kind")
				name, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
				if kind != role.GetKind() || name != role.GetName() {
					continue
				}
				subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
				for _, s := range subjects {
					m := s.(map[string]any)
					if m["kind"] == "ServiceAccount" && m["name"] == sa.GetName() && m["namespace"] == sa.GetNamespace() {
						return
					}
				}
			}
			t.Fatalf("no %s in config/manager binds %s %s/%s to ServiceAccount %s/%s",
				bindingKind, role.GetKind(), role.GetNamespace(), role.GetName(), sa.GetNamespace(), sa.GetName())
		})
	}
}
