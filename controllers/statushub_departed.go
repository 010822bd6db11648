package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// maxDepartedIDs bounds the in-memory record of deleted agents. Under
// stateReclaimPolicy Delete their rows are gone once the finalizer ran, so
// an evicted ID matters only if a peer wrote a row about it afterwards.
const maxDepartedIDs = 4096

// Peers that are deleted HSAgents are not shown in other agents' status,
// whatever rows remain: a deleted (or being deleted) HSAgent leaves its
// peers' peerCount, stalePeers, cycles and peers[] at the next poll. The
// fleet cache only sees a deleted row at its resync (up to 20 polls), and
// under Retain the rows stay for good, so the hub hides them instead:
//   - every agent whose HSAgent is being deleted or is gone (Depart, from
//     the finalizer and from a reconcile that finds the HSAgent gone);
//   - every identity kept by Retain (an orphaned identity Secret in the
//     cache, with its agent ID annotation): this survives an operator
//     restart, when the in-memory record is empty;
//   - minus every agent ID a tracked HSAgent holds: a re-created HSAgent
//     that adopts a retained identity is a peer again at once (its rows
//     never left the cache).
// Peers the operator does not manage (Python agents, agents run by hand)
// are never hidden: only an identity the operator created is.

// departedIDs is a bounded set, oldest evicted first.
type departedIDs struct {
	ids   map[string]bool
	order []string
}

func (d *departedIDs) add(id string) {
	if id == "" || d.ids[id] {
		return
	}
	if d.ids == nil {
		d.ids = map[string]bool{}
	}
	if len(d.order) >= maxDepartedIDs {
		delete(d.ids, d.order[0])
		d.order = d.order[1:]
	}
	d.ids[id] = true
	d.order = append(d.order, id)
}

// Depart forgets a deleted (or being deleted) agent, like Untrack, and
// hides it from its peers' status: agentID and the ID it was tracked with,
// when they differ or agentID is unknown ("").
func (h *statusHub) Depart(key types.NamespacedName, agentID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.agents[key]; ok {
		h.departed.add(t.agentID)
		delete(h.agents, key)
	}
	h.departed.add(agentID)
}

// hiddenPeers is the set of agent IDs to leave out of every summary this
// poll; nil when there is none.
func (h *statusHub) hiddenPeers(ctx context.Context) map[string]bool {
	var retained []string
	if h.retained != nil {
		var err error
		if retained, err = h.retained(ctx); err != nil {
			// The in-memory record still applies; a retained identity
			// from before a restart shows until the next poll that can list.
			log.FromContext(ctx).Info("cannot list retained identities; their rows may show in peers' status", "error", err.Error())
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.departed.ids) == 0 && len(retained) == 0 {
		return nil
	}
	hidden := make(map[string]bool, len(h.departed.ids)+len(retained))
	for id := range h.departed.ids {
		hidden[id] = true
	}
	for _, id := range retained {
		hidden[id] = true
	}
	for _, t := range h.agents {
		delete(hidden, t.agentID)
	}
	if len(hidden) == 0 {
		return nil
	}
	return hidden
}

// retainedAgentIDs lists the agent IDs of identities kept by Retain: the
// operator's cache holds its labelled Secrets, orphaned ones included.
func retainedAgentIDs(c client.Reader) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		var l corev1.SecretList
		if err := c.List(ctx, &l, client.MatchingLabels{ManagedByLabel: ManagedByValue, hsv1.OrphanedLabel: "true"},
			client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		var ids []string
		for i := range l.Items {
			if id := l.Items[i].Annotations[AgentIDAnnotation]; validateAgentID(id) == nil {
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
}
