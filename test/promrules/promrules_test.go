// Package promrules checks the chart's PrometheusRule with promtool: the
// rendered rules parse, and the unit tests in testdata fire each alert
// when it should and not before.
package promrules

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func tool(t *testing.T, script string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join("..", "..", "hack", script))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/%s: %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// renderRules renders the chart's PrometheusRule with the default values
// and returns its spec (a Prometheus rule file).
func renderRules(t *testing.T, helm string) []byte {
	t.Helper()
	out := run(t, helm, "template", "hsfleet", filepath.Join("..", "..", "charts", "hsfleet"), "--kube-version", "1.37.2", "--namespace", "hsfleet-system",
		"--set", "monitoring.prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml")
	var obj struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(out, &obj); err != nil {
		t.Fatalf("rendered PrometheusRule: %v\n%s", err, out)
	}
	if obj.Kind != "PrometheusRule" || obj.Spec["groups"] == nil {
		t.Fatalf("rendered object is not a PrometheusRule with groups:\n%s", out)
	}
	rules, err := yaml.Marshal(obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func TestPrometheusRulesWithPromtool(t *testing.T) {
	helm, promtool := tool(t, "helm.sh"), tool(t, "promtool.sh")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), renderRules(t, helm), 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join("testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, promtool, "check", "rules", filepath.Join(dir, "rules.yaml"))
	if !strings.Contains(string(out), "SUCCESS: 10 rules found") {
		t.Errorf("promtool check rules:\n%s", out)
	}
	out = run(t, promtool, "test", "rules", filepath.Join(dir, "rules_test.yaml"))
	t.Logf("promtool test rules:\n%s", out)
}
