package helmcheck

import (
	"encoding/base64"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestChartPassesHelmLintWithEveryValuesSet(t *testing.T) {
	for name, extra := range valuesFiles {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", "charts/hsfleet"}, extra...)
			if out, errOut, err := helm(t, args...); err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

func TestValuesSchemaRejectsTyposAndBadValues(t *testing.T) {
	cases := []struct {
		name    string
		set     string
		mention string
	}{
		{"misspelled top-level key", "databse.dsn=x", "databse"},
		{"misspelled nested key", "operator.replica=2", "replica"},
		{"unknown relay field", "relay.maxConnection=5", "maxConnection"},
		{"unknown postgres field", "database.postgres.enable=true", "enable"},
		{"more relay replicas than the schema allows", "relay.replicas=17", "replicas"},
		{"anti-affinity preset outside the enum", "relay.antiAffinity=sometimes", "antiAffinity"},
		{"misspelled crds switch", "crds.enable=false", "enable"},
		{"cluster domain with a scheme", "clusterDomain=https://x", "clusterDomain"},
		{"route buffer below 1 MiB", "relay.cluster.pendingBytes=10", "pendingBytes"},
		{"presence period below 1 s", "relay.cluster.presencePeriodSeconds=0", "presencePeriodSeconds"},
		{"presence period above 1 min", "relay.cluster.presencePeriodSeconds=61", "presencePeriodSeconds"},
		{"idle timeout that is not a duration", "relay.idleTimeout=forever", "idleTimeout"},
		{"pull policy outside the enum", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"dsn that is not postgres", "database.dsn=mysql://x", "dsn"},
		{"status interval that is not a duration", "operator.statusInterval=soon", "statusInterval"},
		{"agent namespace that is not a DNS label", "agentNamespaces={Team_A}", "agentNamespaces"},
		{"misspelled agent default", "operator.agentDefaults.cycleInterwal=1s", "cycleInterwal"},
		{"agent pool of zero connections", "operator.agentDefaults.databaseMaxConns=0", "databaseMaxConns"},
		{"extra arg that is not a flag", "operator.extraArgs={oops}", "extraArgs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := helm(t, "template", "hsfleet", "charts/hsfleet", "--set", tc.set)
			if err == nil {
				t.Fatalf("helm template accepted --set %s", tc.set)
			}
			if !strings.Contains(errOut, tc.mention) {
				t.Fatalf("error does not name %q:\n%s", tc.mention, errOut)
			}
		})
	}
}

func TestDefaultInstallIsLeastPrivilegeAndRestricted(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS))

	op := mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	args := containerArgs(t, op, "operator")
	for _, want := range []string{
		"operator", "--leader-elect=true", "--health-probe-bind-address=:8081",
		"--default-relay=hsfleet-relay.hsfleet-system.svc.cluster.local:8888",
		"--default-database-secret=hsfleet-database", "--watch-namespaces=" + releaseNS,
		"--agent-image=ghcr.io/hsfleet/hsfleet:" + chartAppVersion(t),
	} {
		if !hasArg(args, want) {
			t.Errorf("operator args %q lack %q", args, want)
		}
	}
	relay := mustFind(t, objs, "StatefulSet", releaseNS, "hsfleet-relay")
	if got := containerArgs(t, relay, "relay"); !hasArg(got, "--listen=:8888") || !hasArg(got, "--metrics-listen=:9090") {
		t.Errorf("relay args = %q", got)
	}
	svc := mustFind(t, objs, "Service", releaseNS, "hsfleet-relay")
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 2 {
		t.Errorf("relay Service ports = %v, want relay and metrics", ports)
	}

	for _, w := range append(ofKind(objs, "Deployment"), ofKind(objs, "StatefulSet")...) {
		assertRestricted(t, w)
	}
	for _, cr := range ofKind(objs, "ClusterRole") {
		if grantsSecrets(cr) {
			t.Errorf("default install grants Secrets cluster-wide through ClusterRole %s", cr.GetName())
		}
	}
	if r := mustFind(t, objs, "Role", releaseNS, "hsfleet-operator"); !grantsSecrets(r) {
		t.Error("the operator's Role in the agent namespace must grant Secrets")
	}
	mustFind(t, objs, "Role", releaseNS, "hsfleet-leader-election")
	if find(objs, "Secret", "*", "hsfleet-database") != nil {
		t.Error("no database configured, yet the chart rendered a database Secret")
	}
	if find(objs, "StatefulSet", "*", "hsfleet-postgres") != nil || len(ofKind(objs, "ServiceMonitor")) != 0 ||
		len(ofKind(objs, "PodMonitor")) != 0 || len(ofKind(objs, "PrometheusRule")) != 0 {
		t.Error("bundled PostgreSQL and ServiceMonitors must be off by default")
	}
}

// assertRestricted checks the restricted Pod Security Standard fields.
func assertRestricted(t *testing.T, w *unstructured.Unstructured) {
	t.Helper()
	pod, _, _ := unstructured.NestedMap(w.Object, "spec", "template", "spec")
	if v, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot"); !v {
		t.Errorf("%s: runAsNonRoot is not true", w.GetName())
	}
	if v, _, _ := unstructured.NestedString(pod, "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
		t.Errorf("%s: seccompProfile = %q", w.GetName(), v)
	}
	cs, _, _ := unstructured.NestedSlice(pod, "containers")
	for _, c := range cs {
		m := c.(map[string]any)
		if v, found, _ := unstructured.NestedBool(m, "securityContext", "allowPrivilegeEscalation"); !found || v {
			t.Errorf("%s/%s: allowPrivilegeEscalation must be false", w.GetName(), m["name"])
		}
		if v, _, _ := unstructured.NestedBool(m, "securityContext", "readOnlyRootFilesystem"); !v {
			t.Errorf("%s/%s: readOnlyRootFilesystem must be true", w.GetName(), m["name"])
		}
		if drop, _, _ := unstructured.NestedStringSlice(m, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
			t.Errorf("%s/%s: capabilities.drop = %q", w.GetName(), m["name"], drop)
		}
		if _, found, _ := unstructured.NestedMap(m, "resources", "requests"); !found {
			t.Errorf("%s/%s: no resource requests", w.GetName(), m["name"])
		}
	}
}

func TestProductionValuesScopeRBACToAgentNamespaces(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, valuesFiles["production"]...))
	op := mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	args := containerArgs(t, op, "operator")
	if v, _ := argValue(args, "--watch-namespaces"); v != "team-a,team-b" {
		t.Errorf("--watch-namespaces = %q, want team-a,team-b", v)
	}
	if !hasArg(args, "--metrics-bind-address=:8443") || !hasArg(args, "--default-database-secret=hsfleet-pg-app") {
		t.Errorf("operator args = %q", args)
	}
	if v := containerImage(t, op); v != "registry.example.com/platform/hsfleet:v0.1.0" {
		t.Errorf("image = %q", v)
	}
	for _, ns := range []string{"team-a", "team-b"} {
		if r := mustFind(t, objs, "Role", ns, "hsfleet-operator"); !grantsSecrets(r) {
			t.Errorf("Role in %s lacks Secrets", ns)
		}
		mustFind(t, objs, "RoleBinding", ns, "hsfleet-operator")
	}
	if find(objs, "Role", releaseNS, "hsfleet-operator") != nil {
		t.Error("no agents run in the release namespace, yet the operator gets a Role there")
	}
	for _, cr := range ofKind(objs, "ClusterRole") {
		if grantsSecrets(cr) {
			t.Errorf("ClusterRole %s grants Secrets cluster-wide", cr.GetName())
		}
	}
	for _, s := range ofKind(objs, "Secret") {
		if _, ok, _ := unstructured.NestedString(s.Object, "stringData", "dsn"); ok || s.GetName() == "hsfleet-database" {
			t.Errorf("existingSecret is set: the chart must not render its own database Secret (%s/%s)", s.GetNamespace(), s.GetName())
		}
	}
	if n := len(ofKind(objs, "ServiceMonitor")); n != 2 {
		t.Errorf("ServiceMonitors = %d, want operator + relay", n)
	}
	if len(ofKind(objs, "PodMonitor")) != 1 || len(ofKind(objs, "PrometheusRule")) != 1 {
		t.Error("production values: want the agents' PodMonitor and the PrometheusRule")
	}
	mustFind(t, objs, "ClusterRole", "*", "hsfleet-metrics-auth")
}

func containerImage(t *testing.T, w *unstructured.Unstructured) string {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(w.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatalf("%s has no containers", w.GetName())
	}
	img, _, _ := unstructured.NestedString(cs[0].(map[string]any), "image")
	return img
}

func TestClusterWideToggleGrantsEveryNamespace(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, valuesFiles["cluster-wide"]...))
	if cr := mustFind(t, objs, "ClusterRole", "*", "hsfleet-operator"); !grantsSecrets(cr) {
		t.Error("cluster-wide ClusterRole lacks Secrets")
	}
	mustFind(t, objs, "ClusterRoleBinding", "*", "hsfleet-operator")
	if len(ofKind(objs, "Role")) != 1 { // only leader election stays namespaced
		t.Errorf("Roles = %d, want only the leader-election Role", len(ofKind(objs, "Role")))
	}
	args := containerArgs(t, mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator"), "operator")
	if v, ok := argValue(args, "--watch-namespaces"); !ok || v != "" {
		t.Errorf("--watch-namespaces = %q, want empty (all namespaces)", v)
	}
}

func TestDatabaseSecretCarriesTheDSNIntoEveryAgentNamespace(t *testing.T) {
	const dsn = "postgres://hs:pw@db.example.com:5432/hsfleet?sslmode=require"
	objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "database.dsn="+dsn, "--set", "agentNamespaces={team-a,team-b}"))
	for _, ns := range []string{releaseNS, "team-a", "team-b"} {
		s := mustFind(t, objs, "Secret", ns, "hsfleet-database")
		if got := secretValue(s, "dsn"); got != dsn {
			t.Errorf("Secret in %s: dsn = %q, want %q", ns, got, dsn)
		}
	}
	if find(objs, "StatefulSet", "*", "hsfleet-postgres") != nil {
		t.Error("an external DSN must not start the bundled PostgreSQL")
	}
}

func TestBundledPostgresIsWiredIntoTheDSN(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, valuesFiles["dev-postgres"]...))
	mustFind(t, objs, "StatefulSet", releaseNS, "hsfleet-postgres")
	mustFind(t, objs, "Service", releaseNS, "hsfleet-postgres")
	pw := secretValue(mustFind(t, objs, "Secret", releaseNS, "hsfleet-postgres"), "password")
	if len(pw) < 16 {
		t.Fatalf("generated password %q is too short", pw)
	}
	dsn := secretValue(mustFind(t, objs, "Secret", releaseNS, "hsfleet-database"), "dsn")
	want := "postgres://hsfleet:" + pw + "@hsfleet-postgres.hsfleet-system.svc.cluster.local:5432/hsfleet?sslmode=disable"
	if dsn != want {
		t.Errorf("dsn = %q, want %q", dsn, want)
	}
}

// secretValue reads a key from stringData or base64 data.
func secretValue(s *unstructured.Unstructured, key string) string {
	if v, ok, _ := unstructured.NestedString(s.Object, "stringData", key); ok {
		return v
	}
	v, _, _ := unstructured.NestedString(s.Object, "data", key)
	b, _ := base64.StdEncoding.DecodeString(v)
	return string(b)
}
