package helmcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const hsagentCRD = "hsagents.hsfleet.io"

// chartAppVersion reads appVersion from Chart.yaml: the default image tag.
func chartAppVersion(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", "hsfleet", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %q, %v", c.AppVersion, err)
	}
	return c.AppVersion
}

// TestChartCRDsAreTheGeneratedOnes keeps charts/hsfleet/files/crds a
// byte-for-byte copy of controller-gen's config/crd/bases: the chart
// templates the CRD from that copy, and a hand edit or a stale copy would
// install a CRD the operator was not built for.
func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	root := repoRoot(t)
	gen, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	chart, _ := filepath.Glob(filepath.Join(root, "charts", "hsfleet", "files", "crds", "*.yaml"))
	if len(gen) == 0 {
		t.Skip("config/crd/bases is not generated yet (make manifests)")
	}
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !reflect.DeepEqual(names(gen), names(chart)) {
		t.Fatalf("chart CRDs %v != generated %v: copy config/crd/bases/*.yaml to charts/hsfleet/files/crds/", names(chart), names(gen))
	}
	for i := range gen {
		a, errA := os.ReadFile(gen[i])
		b, errB := os.ReadFile(chart[i])
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("charts/hsfleet/files/crds/%s differs from config/crd/bases: copy it after make manifests", filepath.Base(gen[i]))
		}
	}
}

// TestCRDIsATemplateKeptOnUninstall: by default the CRD is rendered as a
// release object (so helm upgrade upgrades it) with the keep policy and
// Helm's labels, and its spec is exactly controller-gen's; crds.keep=false
// drops the policy and crds.enabled=false drops the CRD.
func TestCRDIsATemplateKeptOnUninstall(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "crd", "bases", "hsfleet.io_hsagents.yaml"))
	if err != nil {
		t.Skip("config/crd/bases/hsfleet.io_hsagents.yaml is not generated yet (make manifests)")
	}
	want := decodeObjects(t, string(data))[0]

	crd := mustFind(t, decodeObjects(t, renderChart(t, releaseNS)), "CustomResourceDefinition", "*", hsagentCRD)
	if got := crd.GetAnnotations()["helm.sh/resource-policy"]; got != "keep" {
		t.Errorf("CRD resource policy = %q, want keep", got)
	}
	if got := crd.GetAnnotations()["controller-gen.kubebuilder.io/version"]; got == "" {
		t.Error("the generated annotations were lost")
	}
	if got := crd.GetLabels()["app.kubernetes.io/managed-by"]; got != "Helm" {
		t.Errorf("CRD managed-by label = %q, want Helm", got)
	}
	gotSpec, _, _ := unstructured.NestedMap(crd.Object, "spec")
	wantSpec, _, _ := unstructured.NestedMap(want.Object, "spec")
	if !reflect.DeepEqual(gotSpec, wantSpec) {
		t.Error("the rendered CRD spec differs from config/crd/bases (fromYaml/toYaml changed it)")
	}

	crd = mustFind(t, decodeObjects(t, renderChart(t, releaseNS, "--set", "crds.keep=false")), "CustomResourceDefinition", "*", hsagentCRD)
	if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
		t.Error("crds.keep=false still renders the keep policy")
	}
	if objs := decodeObjects(t, renderChart(t, releaseNS, "--set", "crds.enabled=false")); len(ofKind(objs, "CustomResourceDefinition")) != 0 {
		t.Error("crds.enabled=false still renders the CRD")
	}
}

// TestChartRequiresItsKubeVersion: Chart.yaml's kubeVersion refuses clusters
// without GA CEL validation and admits vendor pre-release versions.
func TestChartRequiresItsKubeVersion(t *testing.T) {
	_, errOut, err := helm(t, "template", "hsfleet", "charts/hsfleet", "--kube-version", "1.28.9")
	if err == nil || !strings.Contains(errOut, "kubeVersion") {
		t.Fatalf("helm template for Kubernetes 1.28 succeeded or did not name kubeVersion: %v\n%s", err, errOut)
	}
	for _, v := range []string{"1.29.0", "v1.33.2-eks-1234"} {
		if _, errOut, err := helm(t, "template", "hsfleet", "charts/hsfleet", "--kube-version", v); err != nil {
			t.Errorf("helm template for Kubernetes %s: %v\n%s", v, err, errOut)
		}
	}
}

// TestDefaultImageIsTheAppVersionFromARegistry: without values every pod
// (and the operator's agent image) pulls ghcr.io/hsfleet/hsfleet:<appVersion>;
// image.repository and image.tag override it everywhere.
func TestDefaultImageIsTheAppVersionFromARegistry(t *testing.T) {
	want := "ghcr.io/hsfleet/hsfleet:" + chartAppVersion(t)
	objs := decodeObjects(t, renderChart(t, releaseNS))
	op := mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	relay := mustFind(t, objs, "StatefulSet", releaseNS, "hsfleet-relay")
	if containerImage(t, op) != want || containerImage(t, relay) != want {
		t.Errorf("images = %q, %q, want %q", containerImage(t, op), containerImage(t, relay), want)
	}
	if v, _ := argValue(containerArgs(t, op, "operator"), "--agent-image"); v != want {
		t.Errorf("--agent-image = %q, want %q", v, want)
	}
	objs = decodeObjects(t, renderChart(t, releaseNS, "--set", "image.repository=registry.example.com/hsfleet", "--set", "image.tag=v9"))
	op = mustFind(t, objs, "Deployment", releaseNS, "hsfleet-operator")
	if v, _ := argValue(containerArgs(t, op, "operator"), "--agent-image"); v != "registry.example.com/hsfleet:v9" || containerImage(t, op) != v {
		t.Errorf("overridden image: operator %q, --agent-image %q", containerImage(t, op), v)
	}
}
