package helmcheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helmBinary builds (or finds cached) helm through hack/helm.sh. The only
// reason to skip is that helm cannot be built on this machine.
func helmBinary(t testing.TB) string {
	t.Helper()
	helmOnce.Do(func() {
		var stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "helm.sh"))
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			helmErr = fmt.Errorf("hack/helm.sh: %w\n%s", err, stderr.String())
			return
		}
		helmPath = strings.TrimSpace(string(out))
	})
	if helmErr != nil {
		t.Skipf("helm could not be built from the Go module proxy, chart checks skipped: %v", helmErr)
	}
	return helmPath
}

// helm runs helm with an isolated home so no user config leaks in.
func helm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := helmBinary(t)
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// kubeVersion is the Kubernetes version charts are rendered for: the one
// envtest and the local cluster run. Without a cluster helm assumes 1.20,
// which the chart's kubeVersion refuses.
const kubeVersion = "1.37.2"

// renderChart runs `helm template` into the given namespace and fails the
// test when rendering fails.
func renderChart(t testing.TB, namespace string, extra ...string) string {
	t.Helper()
	args := append([]string{"template", "hsfleet", "charts/hsfleet", "--namespace", namespace, "--kube-version", kubeVersion}, extra...)
	out, errOut, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// kubectlBinary finds kubectl (for `kubectl kustomize`): next to
// kube-apiserver in the shared cache, else built there by
// hack/envtest-assets.sh (the local cluster reuses it), else PATH.
func kubectlBinary() (string, bool) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if p := filepath.Join(dir, "kubectl"); isExecutable(p) {
			return p, true
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "hack", "envtest-assets.sh")
		if isExecutable(script) {
			if out, err := exec.Command(script, "kubectl").Output(); err == nil {
				if p := filepath.Join(strings.TrimSpace(string(out)), "kubectl"); isExecutable(p) {
					return p, true
				}
			}
		}
	}
	p, err := exec.LookPath("kubectl")
	return p, err == nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
