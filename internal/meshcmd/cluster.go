package meshcmd

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// readCluster lists HSAgents (one namespace, or all) and builds the mesh
// from their status, as `kubectl get hsa` would see them.
func readCluster(ctx context.Context, c Config) (mesh.Data, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return mesh.Data{}, fmt.Errorf("%w: %v", ErrNoSource, err)
	}
	ns := c.Namespace
	if ns == "" && !c.AllNamespaces {
		if ns, _, err = cc.Namespace(); err != nil {
			return mesh.Data{}, fmt.Errorf("kubeconfig namespace: %w", err)
		}
	}
	if c.AllNamespaces {
		ns = ""
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return mesh.Data{}, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return mesh.Data{}, fmt.Errorf("kubernetes client: %w", err)
	}
	var list v1alpha1.HSAgentList
	if err := cl.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return mesh.Data{}, fmt.Errorf("list HSAgents: %w", err)
	}
	return mesh.FromHSAgents(list.Items), nil
}
