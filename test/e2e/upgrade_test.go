//go:build e2e

package e2e

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

const probeField = "e2eUpgradeProbe"

// phaseUpgradeChangedCRD upgrades the release to a copy of the chart whose
// CRD has one more spec field (as a new chart version would): the CRD, a
// template of the release kept on uninstall, is upgraded in place, and no
// agent pod is rolled or changes identity.
func phaseUpgradeChangedCRD(t *testing.T, cfg config, c *cluster) {
	ctx := context.Background()
	crd, err := c.dyn.Resource(crdGVR).Get(ctx, "hsagents.hsfleet.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := crd.GetAnnotations(); a["helm.sh/resource-policy"] != "keep" || a["meta.helm.sh/release-name"] != cfg.release {
		t.Fatalf("the CRD is not a kept object of release %s: annotations %v", cfg.release, a)
	}
	if specProperties(t, crd)[probeField] != nil {
		t.Fatalf("the installed CRD already has %s", probeField)
	}

	before := map[string]agentView{}
	pods := map[string]types.UID{}
	for _, n := range sampleNames {
		v, err := c.agent(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		before[n] = v
		p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, n+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods[n] = p.UID
	}
	installChartFrom(t, cfg, changedChart(t, cfg.root))

	crd, err = c.dyn.Resource(crdGVR).Get(ctx, "hsagents.hsfleet.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if specProperties(t, crd)[probeField] == nil {
		t.Fatalf("helm upgrade did not upgrade the CRD: spec has no %s", probeField)
	}
	views := waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
	for _, n := range sampleNames {
		if views[n].AgentID != before[n].AgentID || views[n].SignPub != before[n].SignPub {
			t.Errorf("%s's identity changed across the upgrade: %s -> %s", n, before[n], views[n])
		}
		p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, n+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.UID != pods[n] {
			t.Errorf("%s's pod was rolled by an upgrade that changed only the CRD", n)
		}
	}
}

// specProperties returns the HSAgent CRD's spec schema properties.
func specProperties(t *testing.T, crd *unstructured.Unstructured) map[string]any {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if len(versions) == 0 {
		t.Fatal("CRD has no versions")
	}
	props, _, _ := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties")
	return props
}

// changedChart copies charts/hsfleet to a temporary directory, adds
// probeField to the CRD's spec and bumps the chart version.
func changedChart(t *testing.T, root string) string {
	t.Helper()
	src := filepath.Join(root, "charts", "hsfleet")
	dst := filepath.Join(t.TempDir(), "hsfleet")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy chart: %v", err)
	}
	crdPath := filepath.Join(dst, "files", "crds", "hsfleet.io_hsagents.yaml")
	data, err := os.ReadFile(crdPath)
	if err != nil {
		t.Fatal(err)
	}
	var crd unstructured.Unstructured
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for i := range versions {
		v := versions[i].(map[string]any)
		if err := unstructured.SetNestedField(v, map[string]any{"type": "string", "description": "added by the e2e upgrade phase"},
			"schema", "openAPIV3Schema", "properties", "spec", "properties", probeField); err != nil {
			t.Fatal(err)
		}
	}
	if err := unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(crd.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crdPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	chartYAML := filepath.Join(dst, "Chart.yaml")
	meta, err := os.ReadFile(chartYAML)
	if err != nil {
		t.Fatal(err)
	}
	meta = regexp.MustCompile(`(?m)^version: .*$`).ReplaceAll(meta, []byte("version: 99.0.0-e2e"))
	if err := os.WriteFile(chartYAML, meta, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}
