package meshop

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/controllers"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// MaxPageAgents bounds the page's matrix (MaxPageAgents² cells). Larger
// fleets show the agents of the stalest pairs first, then the rest by
// name, and say the view is truncated; the totals are in the metrics.
const MaxPageAgents = 64

// Source builds the view from HSAgent status alone (each agent's 16-peer
// sample), for readers without the operator's cache: `hsfleet mesh` against
// a cluster. The operator's page uses HubSource.
func Source(r client.Reader, staleAfter time.Duration) mesh.Source {
	return func(ctx context.Context) (*mesh.View, error) {
		items, err := sortedAgents(ctx, r)
		if err != nil {
			return nil, err
		}
		return mesh.Build(time.Now(), staleAfter, mesh.FromHSAgents(items)), nil
	}
}

func sortedAgents(ctx context.Context, r client.Reader) ([]v1alpha1.HSAgent, error) {
	var list v1alpha1.HSAgentList
	if err := r.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list HSAgents: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b v1alpha1.HSAgent) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return list.Items, nil
}

// HubSource is the operator's page data: the HSAgents it watches (names,
// readiness) and their pairs from the status hub's cache (every
// conversation, not the status sample), one matrix of at most
// MaxPageAgents agents (names are namespace/name when there are several
// namespaces).
func HubSource(r client.Reader, fleet Fleet, staleAfter time.Duration) mesh.Source {
	return func(ctx context.Context) (*mesh.View, error) {
		items, err := sortedAgents(ctx, r)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		shown := pageAgents(items, fleet.Namespaces(now, MaxPageAgents))
		d := mesh.Data{Truncated: len(shown) < len(items)}
		multiNS := len(items) > 0 && items[0].Namespace != items[len(items)-1].Namespace
		byNS := map[string][]string{}
		keys := map[[2]string]string{} // namespace, name -> the page's agent ID
		for _, a := range shown {
			keys[[2]string{a.Namespace, a.Name}] = agentKey(a)
			name := a.Name
			if multiNS {
				name = a.Namespace + "/" + a.Name
			}
			ready := meta.IsStatusConditionTrue(a.Status.Conditions, v1alpha1.ConditionAvailable)
			d.Agents = append(d.Agents, mesh.Agent{ID: agentKey(a), Name: name, Ready: &ready})
			byNS[a.Namespace] = append(byNS[a.Namespace], a.Name)
		}
		for ns, names := range byNS {
			for _, p := range fleet.Pairs(now, ns, names) {
				d.Rows = append(d.Rows, mesh.Row{SelfID: keys[[2]string{ns, p.Initiator}], Role: "initiator", PeerID: keys[[2]string{ns, p.Responder}],
					Cycles: p.Cycles, LastCycle: p.LastCycle, LastCycleVerified: p.LastCycleVerified})
			}
		}
		return mesh.Build(now, staleAfter, d), nil
	}
}

// agentKey is the agent's ID, or namespace/name before it has one.
func agentKey(a v1alpha1.HSAgent) string {
	if a.Status.AgentID != "" {
		return a.Status.AgentID
	}
	return a.Namespace + "/" + a.Name
}

// pageAgents picks at most MaxPageAgents: all of a small fleet; else the
// agents of the stalest pairs, then the others in order.
func pageAgents(items []v1alpha1.HSAgent, namespaces []controllers.MeshNamespace) []v1alpha1.HSAgent {
	if len(items) <= MaxPageAgents {
		return items
	}
	type key struct{ ns, name string }
	picked := map[key]bool{}
	for _, ns := range namespaces {
		for _, p := range ns.Worst {
			for _, n := range []string{p.Initiator, p.Responder} {
				if len(picked) < MaxPageAgents {
					picked[key{ns.Namespace, n}] = true
				}
			}
		}
	}
	for _, a := range items {
		if len(picked) >= MaxPageAgents {
			break
		}
		picked[key{a.Namespace, a.Name}] = true
	}
	var out []v1alpha1.HSAgent
	for _, a := range items {
		if picked[key{a.Namespace, a.Name}] {
			out = append(out, a)
		}
	}
	return out
}
