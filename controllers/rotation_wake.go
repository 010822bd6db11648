package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A rotation waits for a deadline (the propagation delay, the retire
// grace) that no watched object marks, so it sets a timer that enqueues the
// agent through the status hub's event channel when the deadline passes.
// One timer per agent: a later reconcile keeps an earlier or equal one.
type wakeKey struct {
	r   *HSAgentReconciler
	key types.NamespacedName
}

var rotationWakes struct {
	mu sync.Mutex
	m  map[wakeKey]*rotationWake
}

type rotationWake struct {
	at    time.Time
	timer *time.Timer
}

// wakeSlack lets the enqueued reconcile see the deadline as passed.
const wakeSlack = 50 * time.Millisecond

// wakeAt enqueues a reconcile of key at (or just after) at.
func (r *HSAgentReconciler) wakeAt(key types.NamespacedName, at time.Time) {
	if r.hub == nil {
		return // no manager (unit tests): nothing to enqueue into
	}
	wk := wakeKey{r: r, key: key}
	rotationWakes.mu.Lock()
	defer rotationWakes.mu.Unlock()
	if rotationWakes.m == nil {
		rotationWakes.m = map[wakeKey]*rotationWake{}
	}
	if w, ok := rotationWakes.m[wk]; ok {
		if !w.at.After(at) {
			return
		}
		w.timer.Stop()
	}
	w := &rotationWake{at: at}
	w.timer = time.AfterFunc(at.Sub(r.clock())+wakeSlack, func() {
		rotationWakes.mu.Lock()
		if rotationWakes.m[wk] == w {
			delete(rotationWakes.m, wk)
		}
		rotationWakes.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.hub.notify(ctx, key, changeUrgent)
	})
	rotationWakes.m[wk] = w
}
