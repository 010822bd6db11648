//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// waitPodTemplateHash waits for the agent's pod to be replaced (a UID other
// than oldUID) by a ready pod whose annotation matches the StatefulSet's
// current template (the operator's hash of what the pod mounts).
func waitPodTemplateHash(t *testing.T, cfg config, c *cluster, agent string, oldUID types.UID, annotation string) {
	t.Helper()
	eventually(t, cfg.timeout, fmt.Sprintf("%s-0 replaced by a ready pod with the StatefulSet's %s", agent, annotation), func(ctx context.Context) error {
		return podMatchesTemplate(ctx, cfg, c, agent, oldUID, annotation)
	})
}

func podMatchesTemplate(ctx context.Context, cfg config, c *cluster, agent string, oldUID types.UID, annotation string) error {
	sts, err := c.core.AppsV1().StatefulSets(cfg.namespace).Get(ctx, agent, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := sts.Spec.Template.Annotations[annotation]
	if want == "" {
		return fmt.Errorf("StatefulSet %s has no %s template annotation", agent, annotation)
	}
	p, err := c.core.CoreV1().Pods(cfg.namespace).Get(ctx, agent+"-0", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if p.UID == oldUID {
		return fmt.Errorf("old pod %s still there", p.UID)
	}
	if got := p.Annotations[annotation]; got != want {
		return fmt.Errorf("pod %s has %s %q, StatefulSet template %q", p.UID, annotation, got, want)
	}
	if len(p.Status.ContainerStatuses) == 0 {
		return fmt.Errorf("pod %s has no container status yet", p.UID)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			return fmt.Errorf("container %s of pod %s not ready", cs.Name, p.UID)
		}
	}
	return nil
}
