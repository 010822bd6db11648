//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// dumpDiagnostics writes what a person needs to debug a failed run: HSAgents
// as YAML, `kubectl describe` of every object kind the fleet uses, events,
// and the current and previous logs of every container in the namespace.
// It never fails the test itself; each problem is noted in the dump.
func dumpDiagnostics(c *cluster, dir string, logf func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("diagnostics: %v", err)
		return
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			logf("diagnostics: write %s: %v", name, err)
		}
	}
	if list, err := c.hsagents().List(ctx, metav1.ListOptions{}); err == nil {
		b, _ := yaml.Marshal(list.Object)
		for _, it := range list.Items {
			item, _ := yaml.Marshal(it.Object)
			b = append(append(b, "---\n"...), item...)
		}
		write("hsagents.yaml", b)
	} else {
		write("hsagents.error", []byte(err.Error()))
	}
	if ev, err := c.core.CoreV1().Events(c.ns).List(ctx, metav1.ListOptions{}); err == nil {
		var b bytes.Buffer
		for _, e := range ev.Items {
			at := e.LastTimestamp.Time
			if at.IsZero() { // events.k8s.io writers only set eventTime
				at = e.EventTime.Time
			}
			fmt.Fprintf(&b, "%s %s %s/%s %s: %s\n", at.UTC().Format(time.RFC3339), e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
		write("events.txt", b.Bytes())
	}
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		for _, kind := range []string{"hsagents", "pods", "statefulsets", "deployments", "services", "configmaps"} {
			cmd := exec.CommandContext(ctx, kubectl, "-n", c.ns, "describe", kind)
			out, err := cmd.CombinedOutput()
			if err != nil {
				out = append(out, []byte("\nerror: "+err.Error())...)
			}
			write("describe-"+kind+".txt", out)
		}
	} else {
		write("describe.skipped", []byte("kubectl is not on PATH"))
	}
	pods, err := c.core.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		write("pods.error", []byte(err.Error()))
		return
	}
	b, _ := yaml.Marshal(pods)
	write("pods.yaml", b)
	for _, p := range pods.Items {
		for _, ctr := range p.Spec.Containers {
			for _, previous := range []bool{false, true} {
				tail := int64(500)
				req := c.core.CoreV1().Pods(c.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ctr.Name, Previous: previous, TailLines: &tail})
				data, err := req.DoRaw(ctx)
				if err != nil {
					if previous {
						continue // no previous instance is the normal case
					}
					data = []byte("error: " + err.Error())
				}
				suffix := ""
				if previous {
					suffix = ".previous"
				}
				write(fmt.Sprintf("logs-%s-%s%s.txt", p.Name, ctr.Name, suffix), data)
			}
		}
	}
	logf("diagnostics written to %s", dir)
}
