package helmcheck

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// relayPod returns the relay StatefulSet's pod spec.
func relayPod(t *testing.T, objs []*unstructured.Unstructured) (*unstructured.Unstructured, map[string]any) {
	t.Helper()
	sts := mustFind(t, objs, "StatefulSet", releaseNS, "hsfleet-relay")
	pod, _, _ := unstructured.NestedMap(sts.Object, "spec", "template", "spec")
	return sts, pod
}

func relaySelector(t *testing.T, sts *unstructured.Unstructured) map[string]any {
	t.Helper()
	sel, _, _ := unstructured.NestedMap(sts.Object, "spec", "selector", "matchLabels")
	if sel["app.kubernetes.io/component"] != "relay" {
		t.Fatalf("relay selector = %v", sel)
	}
	return sel
}

// TestRelayReplicasFormOneNATSRouteMesh: the default is two replicas in a
// StatefulSet whose headless Service gives each a stable name; every
// replica's --cluster-routes names all of them (NATS skips its own), it
// advertises its own stable name, and the route port is declared.
func TestRelayReplicasFormOneNATSRouteMesh(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS))
	sts, pod := relayPod(t, objs)
	if n := intField(sts.Object, "spec", "replicas"); n != 2 {
		t.Errorf("relay replicas = %d, want 2", n)
	}
	if v, _, _ := unstructured.NestedString(sts.Object, "spec", "serviceName"); v != "hsfleet-relay-routes" {
		t.Errorf("serviceName = %q", v)
	}
	if v, _, _ := unstructured.NestedString(sts.Object, "spec", "podManagementPolicy"); v != "Parallel" {
		t.Errorf("podManagementPolicy = %q, want Parallel", v)
	}
	args := containerArgs(t, sts, "relay")
	want := map[string]string{
		"--cluster-listen":          ":6222",
		"--cluster-name":            "hsfleet-relay",
		"--cluster-routes":          "nats-route://hsfleet-relay-0.hsfleet-relay-routes.hsfleet-system.svc.cluster.local:6222,nats-route://hsfleet-relay-1.hsfleet-relay-routes.hsfleet-system.svc.cluster.local:6222",
		"--cluster-advertise":       "$(POD_NAME).hsfleet-relay-routes.hsfleet-system.svc.cluster.local:6222",
		"--cluster-pending-bytes":   "33554432",
		"--cluster-presence-period": "5s",
		"--max-connections":         "2000",
		"--idle-timeout":            "2m",
	}
	for flag, v := range want {
		if got, _ := argValue(args, flag); got != v {
			t.Errorf("%s = %q, want %q", flag, got, v)
		}
	}
	c := pod["containers"].([]any)[0].(map[string]any)
	env, _, _ := unstructured.NestedSlice(c, "env")
	var podNameFromField bool
	for _, e := range env {
		m := e.(map[string]any)
		if p, _, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath"); m["name"] == "POD_NAME" && p == "metadata.name" {
			podNameFromField = true
		}
	}
	if !podNameFromField {
		t.Errorf("no POD_NAME from metadata.name for $(POD_NAME) in --cluster-advertise: env = %v", env)
	}
	if !containerPortNamed(c, "routes", 6222) {
		t.Error("relay container declares no port routes/6222")
	}

	headless := mustFind(t, objs, "Service", releaseNS, "hsfleet-relay-routes")
	if v, _, _ := unstructured.NestedString(headless.Object, "spec", "clusterIP"); v != "None" {
		t.Errorf("routes Service clusterIP = %q, want None (headless)", v)
	}
	if v, _, _ := unstructured.NestedBool(headless.Object, "spec", "publishNotReadyAddresses"); !v {
		t.Error("routes Service must publish not-ready pods, so replicas find each other while starting")
	}
	if sel, _, _ := unstructured.NestedMap(headless.Object, "spec", "selector"); !reflect.DeepEqual(sel, relaySelector(t, sts)) {
		t.Errorf("routes Service selector %v != relay selector", sel)
	}

	pdb := mustFind(t, objs, "PodDisruptionBudget", releaseNS, "hsfleet-relay")
	if v := intField(pdb.Object, "spec", "maxUnavailable"); v != 1 {
		t.Errorf("PDB maxUnavailable = %d, want 1", v)
	}
	terms, _, _ := unstructured.NestedSlice(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
	if len(terms) != 1 {
		t.Fatalf("soft anti-affinity terms = %v", terms)
	}
	sel, _, _ := unstructured.NestedMap(terms[0].(map[string]any), "podAffinityTerm", "labelSelector", "matchLabels")
	if !reflect.DeepEqual(sel, relaySelector(t, sts)) {
		t.Errorf("anti-affinity selects %v, not the relay pods", sel)
	}
}

func containerPortNamed(c map[string]any, name string, port int64) bool {
	ports, _, _ := unstructured.NestedSlice(c, "ports")
	for _, p := range ports {
		m := p.(map[string]any)
		if m["name"] == name && intField(m, "containerPort") == port {
			return true
		}
	}
	return false
}

// TestSingleRelayRunsWithoutNATS: one replica is the single-relay path (no
// embedded NATS, no route port, no PDB that would block every drain).
func TestSingleRelayRunsWithoutNATS(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.replicas=1"))
	sts, pod := relayPod(t, objs)
	for _, a := range containerArgs(t, sts, "relay") {
		if strings.HasPrefix(a, "--cluster-") {
			t.Errorf("single relay has cluster flag %q", a)
		}
	}
	if containerPortNamed(pod["containers"].([]any)[0].(map[string]any), "routes", 6222) {
		t.Error("single relay declares the route port")
	}
	if find(objs, "PodDisruptionBudget", "*", "hsfleet-relay") != nil {
		t.Error("a PDB on one replica blocks node drains")
	}
	for _, r := range networkPolicyRules(t, objs) {
		if r.port == "routes" {
			t.Error("single relay NetworkPolicy still opens the route port")
		}
	}
}

// TestRelayRoutesFollowReplicasAndClusterDomain: three replicas get three
// routes, a custom cluster domain reaches routes, advertise and the address
// agents dial, the presence period reaches its flag; hard anti-affinity is required scheduling; relay.affinity
// replaces the preset.
func TestRelayRoutesFollowReplicasAndClusterDomain(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.replicas=3", "--set", "clusterDomain=corp.example", "--set", "relay.antiAffinity=hard",
		"--set", "relay.cluster.presencePeriodSeconds=2"))
	sts, pod := relayPod(t, objs)
	if v, _ := argValue(containerArgs(t, sts, "relay"), "--cluster-presence-period"); v != "2s" {
		t.Errorf("relay.cluster.presencePeriodSeconds=2: --cluster-presence-period = %q, want 2s", v)
	}
	routes, _ := argValue(containerArgs(t, sts, "relay"), "--cluster-routes")
	if got := strings.Split(routes, ","); len(got) != 3 || got[2] != "nats-route://hsfleet-relay-2.hsfleet-relay-routes.hsfleet-system.svc.corp.example:6222" {
		t.Errorf("--cluster-routes = %q", routes)
	}
	if v, _ := argValue(containerArgs(t, sts, "relay"), "--cluster-advertise"); !strings.HasSuffix(v, ".svc.corp.example:6222") {
		t.Errorf("--cluster-advertise = %q", v)
	}
	op := mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	if v, _ := argValue(containerArgs(t, op, "operator"), "--default-relay"); v != "hsfleet-relay.hsfleet-system.svc.corp.example:8888" {
		t.Errorf("--default-relay = %q", v)
	}
	if terms, _, _ := unstructured.NestedSlice(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"); len(terms) != 1 {
		t.Errorf("hard anti-affinity: required terms = %v", terms)
	}

	objs = decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=relay",
		"--set", "relay.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"))
	_, pod = relayPod(t, objs)
	if _, found, _ := unstructured.NestedMap(pod, "affinity", "podAntiAffinity"); found {
		t.Error("relay.affinity must replace the anti-affinity preset")
	}
	if _, found, _ := unstructured.NestedMap(pod, "affinity", "nodeAffinity"); !found {
		t.Error("relay.affinity was not rendered")
	}
	objs = decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.antiAffinity=none"))
	if _, pod = relayPod(t, objs); pod["affinity"] != nil {
		t.Errorf("antiAffinity=none renders affinity %v", pod["affinity"])
	}
}

type npRule struct {
	port string
	from []any // nil: from anywhere
}

func networkPolicyRules(t *testing.T, objs []*unstructured.Unstructured) []npRule {
	t.Helper()
	np := find(objs, "NetworkPolicy", releaseNS, "hsfleet-relay")
	if np == nil {
		return nil
	}
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	var out []npRule
	for _, r := range ingress {
		m := r.(map[string]any)
		ports, _, _ := unstructured.NestedSlice(m, "ports")
		from, _, _ := unstructured.NestedSlice(m, "from")
		for _, p := range ports {
			out = append(out, npRule{port: p.(map[string]any)["port"].(string), from: from})
		}
	}
	return out
}

// TestRelayNetworkPolicyAdmitsOnlyAgentsAndReplicas: the relay port admits
// agent pods from the agent namespaces (every namespace when cluster-wide)
// and extraClients; the unauthenticated route port only relay pods;
// metrics stays open for probes and Prometheus.
func TestRelayNetworkPolicyAdmitsOnlyAgentsAndReplicas(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, valuesFiles["production"]...))
	sts, _ := relayPod(t, objs)
	np := mustFind(t, objs, "NetworkPolicy", releaseNS, "hsfleet-relay")
	if sel, _, _ := unstructured.NestedMap(np.Object, "spec", "podSelector", "matchLabels"); !reflect.DeepEqual(sel, relaySelector(t, sts)) {
		t.Errorf("NetworkPolicy selects %v, not the relay pods", sel)
	}
	seen := map[string]bool{}
	for _, r := range networkPolicyRules(t, objs) {
		seen[r.port] = true
		switch r.port {
		case "relay":
			if len(r.from) != 1 {
				t.Fatalf("relay port from = %v, want the agent pods only", r.from)
			}
			peer := r.from[0].(map[string]any)
			labels, _, _ := unstructured.NestedStringMap(peer, "podSelector", "matchLabels")
			if labels["app.kubernetes.io/name"] != "hsagent" || labels["app.kubernetes.io/managed-by"] != "hsfleet-operator" {
				t.Errorf("relay port admits pods %v, want the operator's agent pods", labels)
			}
			exprs, _, _ := unstructured.NestedSlice(peer, "namespaceSelector", "matchExpressions")
			if len(exprs) != 1 || !reflect.DeepEqual(exprs[0].(map[string]any)["values"], []any{"team-a", "team-b"}) {
				t.Errorf("relay port namespaces = %v, want team-a, team-b", exprs)
			}
		case "routes":
			if len(r.from) != 1 {
				t.Fatalf("route port from = %v", r.from)
			}
			sel, _, _ := unstructured.NestedMap(r.from[0].(map[string]any), "podSelector", "matchLabels")
			if !reflect.DeepEqual(sel, relaySelector(t, sts)) || r.from[0].(map[string]any)["namespaceSelector"] != nil {
				t.Errorf("route port admits %v, want only this release's relay pods", r.from)
			}
		case "metrics":
			if r.from != nil {
				t.Errorf("metrics port restricted to %v: probes and Prometheus need it", r.from)
			}
		}
	}
	if !seen["relay"] || !seen["routes"] || !seen["metrics"] {
		t.Errorf("NetworkPolicy rules cover ports %v, want relay, routes and metrics", seen)
	}

	objs = decodeObjects(t, renderChart(t, releaseNS, append(valuesFiles["cluster-wide"],
		"--set", "relay.networkPolicy.extraClients[0].ipBlock.cidr=10.9.0.0/16")...))
	for _, r := range networkPolicyRules(t, objs) {
		if r.port != "relay" {
			continue
		}
		if len(r.from) != 2 {
			t.Fatalf("cluster-wide relay port from = %v, want agents in any namespace + the extra client", r.from)
		}
		if ns, found, _ := unstructured.NestedMap(r.from[0].(map[string]any), "namespaceSelector"); !found || len(ns) != 0 {
			t.Errorf("cluster-wide: namespaceSelector = %v, want {} (every namespace)", ns)
		}
	}
	if objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "relay.networkPolicy.enabled=false")); len(ofKind(objs, "NetworkPolicy")) != 0 {
		t.Error("networkPolicy.enabled=false still renders one")
	}
}

// TestSecureOperatorMetricsScrapeWithAToken: the operator's ServiceMonitor
// authenticates with a token Secret (not the deprecated bearerTokenFile) of
// a ServiceAccount bound to the metrics-reader ClusterRole.
func TestSecureOperatorMetricsScrapeWithAToken(t *testing.T) {
	objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "serviceMonitor.enabled=true"))
	sm := mustFind(t, objs, "ServiceMonitor", releaseNS, "hsfleet-operator")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := eps[0].(map[string]any)
	if _, found := ep["bearerTokenFile"]; found {
		t.Error("ServiceMonitor uses the deprecated bearerTokenFile")
	}
	name, _, _ := unstructured.NestedString(ep, "authorization", "credentials", "name")
	key, _, _ := unstructured.NestedString(ep, "authorization", "credentials", "key")
	if ep["scheme"] != "https" || name != "hsfleet-metrics-scraper" || key != "token" {
		t.Fatalf("operator endpoint = %v", ep)
	}
	s := mustFind(t, objs, "Secret", releaseNS, name)
	if typ, _, _ := unstructured.NestedString(s.Object, "type"); typ != "kubernetes.io/service-account-token" || s.GetAnnotations()["kubernetes.io/service-account.name"] != "hsfleet-metrics-scraper" {
		t.Errorf("token Secret = %v", s.Object)
	}
	mustFind(t, objs, "ServiceAccount", releaseNS, "hsfleet-metrics-scraper")
	b := mustFind(t, objs, "ClusterRoleBinding", "*", "hsfleet-metrics-scraper")
	if ref, _, _ := unstructured.NestedString(b.Object, "roleRef", "name"); ref != "hsfleet-metrics-reader" {
		t.Errorf("scraper bound to %q", ref)
	}
	mustFind(t, objs, "ClusterRole", "*", "hsfleet-metrics-reader")

	objs = decodeObjects(t, renderChart(t, releaseNS, "--set", "serviceMonitor.enabled=true", "--set", "operator.metrics.secure=false"))
	if find(objs, "Secret", releaseNS, "hsfleet-metrics-scraper") != nil {
		t.Error("plain-HTTP metrics need no scraper token")
	}
}

// intField reads a number whatever type the YAML decoder gave it.
func intField(obj map[string]any, fields ...string) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return -1
}
