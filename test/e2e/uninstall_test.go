//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// phaseUninstallRefused: with HSAgents left (alice, bob, and dave and erin
// in the other namespace), `helm uninstall`
// fails in its pre-delete hook, whose Job log says why and what to do,
// and the release keeps running: the agents still cycle. The suite's
// cleanup then deletes the HSAgents and uninstalls for real, through the
// same hook.
func phaseUninstallRefused(t *testing.T, cfg config, c *cluster) {
	left := 0
	for _, ns := range []string{cfg.namespace, cfg.otherNamespace} {
		l, err := c.in(ns).hsagents().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		left += len(l.Items)
	}
	refusal := fmt.Sprintf("refusing to uninstall: %d HSAgents still exist", left)
	out, err := tryHelm(t, cfg, 3*time.Minute, "uninstall", cfg.release, "--namespace", cfg.namespace, "--wait", "--timeout", "2m")
	if err == nil {
		t.Fatalf("helm uninstall succeeded while HSAgents exist:\n%s", out)
	}
	job := cfg.release + "-uninstall-check"
	if !strings.Contains(out, "job "+job+" failed") {
		t.Errorf("helm uninstall failed, but not in the %s hook:\n%s", job, out)
	}
	t.Logf("helm uninstall refused: %s", strings.TrimSpace(out))
	eventually(t, time.Minute, "the uninstall check's log explains the refusal", func(ctx context.Context) error {
		pods, err := c.core.CoreV1().Pods(cfg.namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
		if err != nil {
			return err
		}
		if len(pods.Items) == 0 {
			return fmt.Errorf("no pod of job %s", job)
		}
		log, err := c.core.CoreV1().Pods(cfg.namespace).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(string(log), refusal) || !strings.Contains(string(log), "kubectl delete hsa --all -A --wait") {
			return fmt.Errorf("job log lacks the explanation: %q", log)
		}
		t.Logf("uninstall check says:\n%s", log)
		return nil
	})
	waitFleetCycling(t, cfg, c, []string{"alice", "bob"}, snapshot(t, c, []string{"alice", "bob"}))
}
