//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helmPath builds or finds helm through hack/helm.sh (Go module proxy, cached).
func helmPath(t *testing.T, root string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "hack", "helm.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/helm.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func runHelm(t *testing.T, cfg config, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := tryHelm(t, cfg, timeout, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tryHelm runs helm and returns its combined output and error.
func tryHelm(t *testing.T, cfg config, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmPath(t, cfg.root), args...)
	cmd.Dir = cfg.root
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// installChart installs (or upgrades) the release and waits for the operator
// and relay to be ready.
func installChart(t *testing.T, cfg config) {
	t.Helper()
	installChartFrom(t, cfg, "charts/hsfleet")
}

// installChartFrom installs or upgrades the release from a chart directory.
func installChartFrom(t *testing.T, cfg config, chart string) {
	t.Helper()
	args := []string{"upgrade", "--install", cfg.release, chart,
		"--namespace", cfg.namespace, "--create-namespace", "--wait", "--timeout", cfg.timeout.String(),
		// Agents in both namespaces: the chart gives the operator a Role and
		// the database Secret in each (the other one must exist first).
		"--set", "agentNamespaces={" + cfg.namespace + "," + cfg.otherNamespace + "}"}
	args = append(args, cfg.helmArgs...)
	start := time.Now()
	out := runHelm(t, cfg, cfg.timeout+time.Minute, args...)
	t.Logf("helm install took %s\n%s", time.Since(start).Round(time.Second), out)
}

func uninstallChart(t *testing.T, cfg config) {
	t.Helper()
	runHelm(t, cfg, 3*time.Minute, "uninstall", cfg.release, "--namespace", cfg.namespace, "--wait", "--timeout", "2m")
}
