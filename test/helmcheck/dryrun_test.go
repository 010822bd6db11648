package helmcheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRenderedChartPassesServerSideDryRun sends every object of every values
// set to a real kube-apiserver with dryRun=All: OpenAPI schemas, CRD schemas
// and CEL rules judge the manifests, not a linter.
func TestRenderedChartPassesServerSideDryRun(t *testing.T) {
	helmBinary(t) // skip early (with the reason) when helm cannot be built
	s := startAPIServer(t)
	for name, extra := range valuesFiles {
		t.Run(name, func(t *testing.T) {
			applyAll(t, s, decodeObjects(t, renderChart(t, releaseNS, extra...)), releaseNS)
		})
	}
}

// TestSamplesValidateAgainstTheCRD applies alice, bob and carol with
// dryRun=All, so the CRD's schema and CEL rules accept them.
func TestSamplesValidateAgainstTheCRD(t *testing.T) {
	s := startAPIServer(t)
	if !s.hasHSAgentCRD {
		t.Skip("charts/hsfleet/files/crds/hsfleet.io_hsagents.yaml is not generated yet (make manifests)")
	}
	var names []string
	for _, f := range []string{"alice", "bob", "carol"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "samples", "hsfleet_v1alpha1_hsagent_"+f+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeObjects(t, string(data))
		applyAll(t, s, objs, "samples")
		for _, o := range objs {
			names = append(names, o.GetName())
		}
	}
	if len(names) != 3 {
		t.Fatalf("samples = %v, want alice, bob and carol", names)
	}
}

// TestKustomizeManifestsPassServerSideDryRun renders config/manager,
// config/samples and (once config/crd and config/rbac have kustomizations)
// config/default with `kubectl kustomize` and dry-run applies them.
func TestKustomizeManifestsPassServerSideDryRun(t *testing.T) {
	kubectl, ok := kubectlBinary()
	if !ok {
		t.Skip("kubectl (for kustomize) is neither next to kube-apiserver nor on PATH")
	}
	s := startAPIServer(t)
	root := repoRoot(t)
	for _, dir := range []string{"manager", "samples", "default"} {
		t.Run(dir, func(t *testing.T) {
			if dir == "samples" && !s.hasHSAgentCRD {
				t.Skip("HSAgent CRD not generated yet")
			}
			if dir == "default" && !(fileExists(filepath.Join(root, "config", "crd", "kustomization.yaml")) && fileExists(filepath.Join(root, "config", "rbac", "kustomization.yaml"))) {
				t.Skip("config/crd or config/rbac has no kustomization.yaml yet")
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", dir))
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("kubectl kustomize config/%s: %v\n%s", dir, err, stderr.String())
			}
			applyAll(t, s, decodeObjects(t, stdout.String()), "hsfleet-system")
		})
	}
}

// TestDryRunRejectsInvalidObjects proves the dry-run path really validates:
// objects that break the CRD's CEL rules or the core schema are refused.
func TestDryRunRejectsInvalidObjects(t *testing.T) {
	s := startAPIServer(t)
	cases := []struct {
		name     string
		manifest string
		needsCRD bool
	}{
		{"HSAgent exchangeLimit beyond its CEL bound", `
apiVersion: hsfleet.io/v1alpha1
kind: HSAgent
metadata: {name: greedy}
spec: {exchangeLimit: 1000}`, true},
		{"HSAgent trust mode outside the enum", `
apiVersion: hsfleet.io/v1alpha1
kind: HSAgent
metadata: {name: trusting}
spec: {trustMode: Everyone}`, true},
		{"Deployment whose replicas is a string", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "one"
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec: {containers: [{name: c, image: x}]}`, false},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsCRD && !s.hasHSAgentCRD {
				t.Skip("HSAgent CRD not generated yet")
			}
			objs := decodeObjects(t, tc.manifest)
			if err := s.dryRunApply(ctx, objs[0], "invalid"); err == nil {
				t.Fatal("the API server accepted an invalid object")
			}
		})
	}
}
