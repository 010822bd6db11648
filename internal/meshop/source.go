package meshop

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// byNamespace lists the HSAgents the reader sees, grouped by namespace
// (a fleet is one namespace: its agents share a trust bundle), sorted.
func byNamespace(ctx context.Context, r client.Reader) (map[string][]v1alpha1.HSAgent, error) {
	var list v1alpha1.HSAgentList
	if err := r.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list HSAgents: %w", err)
	}
	out := map[string][]v1alpha1.HSAgent{}
	for _, a := range list.Items {
		out[a.Namespace] = append(out[a.Namespace], a)
	}
	return out, nil
}

// Source is the page's data: every HSAgent the operator watches, one
// matrix (names are namespace/name when there are several namespaces).
func Source(r client.Reader, staleAfter time.Duration) mesh.Source {
	return func(ctx context.Context) (*mesh.View, error) {
		var list v1alpha1.HSAgentList
		if err := r.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("list HSAgents: %w", err)
		}
		slices.SortFunc(list.Items, func(a, b v1alpha1.HSAgent) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		return mesh.Build(time.Now(), staleAfter, mesh.FromHSAgents(list.Items)), nil
	}
}
