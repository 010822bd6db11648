package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// statusChange is how much a poll result changed an agent's status; it is
// the priority of the reconcile it enqueues. The controller's work queue is
// controller-runtime's priority queue (its default): spec, rotation and
// owned-object events come at priority 0, so a status refresh never
// delays identity work, and among status refreshes a new peer or database
// trouble goes before stale-peer flips, which go before counters.
type statusChange int

const (
	changeNone statusChange = iota
	changeCounters
	changeDetail
	changeUrgent
)

// priority is the work queue priority of a change: urgent status shares 0
// with spec events; the rest wait behind it (controller-runtime's initial
// list is at handler.LowPriority, -100, like counters).
func (c statusChange) priority() int {
	switch c {
	case changeUrgent:
		return 0
	case changeDetail:
		return handler.LowPriority / 2
	default:
		return handler.LowPriority
	}
}

func (c statusChange) String() string {
	switch c {
	case changeUrgent:
		return "peers"
	case changeDetail:
		return "changed"
	case changeCounters:
		return "counters"
	}
	return "none"
}

// statusEvent asks for one agent's reconcile at a priority.
type statusEvent struct {
	key    types.NamespacedName
	change statusChange
}

// statusEventHandler adds status events to the controller's queue at their
// priority (a plain Add when the queue is not a priority queue).
func statusEventHandler() handler.TypedEventHandler[statusEvent, reconcile.Request] {
	return handler.TypedFuncs[statusEvent, reconcile.Request]{
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[statusEvent], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			req := reconcile.Request{NamespacedName: e.Object.key}
			if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
				p := e.Object.change.priority()
				pq.AddWithOpts(priorityqueue.AddOpts{Priority: &p}, req)
				return
			}
			q.Add(req)
		},
	}
}
