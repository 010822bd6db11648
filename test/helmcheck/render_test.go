package helmcheck

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const releaseNS = "hsfleet-system"

// valuesFiles are the values sets the chart is checked with.
var valuesFiles = map[string][]string{
	"default":      nil,
	"production":   {"-f", "charts/hsfleet/ci/production-values.yaml"},
	"dev-postgres": {"-f", "charts/hsfleet/ci/dev-postgres-values.yaml"},
	"cluster-wide": {"--set", "rbac.clusterWide=true", "--set", "database.dsn=postgres://u:p@db.example.com:5432/hsfleet?sslmode=require"},
	// The relay variants: the single-relay path without a memory limit
	// (GOMEMLIMIT from a resourceFieldRef, an explicit queue), and three
	// replicas with hard anti-affinity, an extra client in the
	// NetworkPolicy, a custom cluster domain and the CRD left to someone else.
	"single-relay": {"--set", "relay.replicas=1", "--set", "crds.keep=false", "--set", "operator.metrics.secure=false",
		"--set", "relay.resources.limits=null", "--set", "relay.queueBytes=1048576"},
	"relay-ha": {"--set", "relay.replicas=3", "--set", "relay.antiAffinity=hard", "--set", "clusterDomain=corp.example",
		"--set", "relay.networkPolicy.extraClients[0].ipBlock.cidr=10.9.0.0/16", "--set", "crds.enabled=false",
		"--set", "relay.podDisruptionBudget.maxUnavailable=34%", "--set", "serviceMonitor.enabled=true"},
}

func find(objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name && (namespace == "*" || o.GetNamespace() == namespace) {
			return o
		}
	}
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func mustFind(t *testing.T, objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	o := find(objs, kind, namespace, name)
	if o == nil {
		t.Fatalf("rendered chart has no %s %s/%s", kind, namespace, name)
	}
	return o
}

// containerArgs returns the args of the named container of a workload.
func containerArgs(t *testing.T, workload *unstructured.Unstructured, container string) []string {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(workload.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		m := c.(map[string]any)
		if m["name"] != container {
			continue
		}
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		return args
	}
	t.Fatalf("%s has no container %s", workload.GetName(), container)
	return nil
}

func hasArg(args []string, want string) bool { return slices.Contains(args, want) }

func argValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// grantsSecrets reports whether a (Cluster)Role's rules mention Secrets.
func grantsSecrets(role *unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		if slices.Contains(res, "secrets") || slices.Contains(res, "*") {
			return true
		}
	}
	return false
}

// decodeObjects splits a multi-document YAML stream into objects, dropping
// empty documents (helm emits them for disabled templates).
func decodeObjects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for i := 0; i < 10000; i++ { // bounded: a chart never renders this many
		var u unstructured.Unstructured
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode rendered document %d: %v", i, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, &u)
	}
	t.Fatal("too many documents in the rendered manifest")
	return nil
}
