package engine

import (
	"context"
	"sync"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
)

// maxBatchSteps bounds one group-commit transaction, so a backlog is
// written in a few short transactions rather than one long lock holder.
const maxBatchSteps = 128

// maxFlushers bounds the group writer's concurrent transactions.
const maxFlushers = 2

// groupWriter is the agent's one writer: every conversation's step goes
// through it, and the steps queued while a transaction runs (or while it
// gathers for a moment) are saved together in the next one, so the commit
// rate of an agent stays flat as its conversations multiply. A caller
// gets its own step's result only after the transaction committed, so no
// reply is ever sent for state that is not saved.
//
// Up to maxFlushers transactions run at once (the agent's pool is two
// connections): under load a transaction costs round trips more than its
// commit, so one flusher alone would halve the agent's write throughput.
// A conversation has one step in flight, so concurrent transactions never
// hold steps of the same row. No goroutine outlives the queue: a flusher
// starts when a step finds all flushers busy or none running, and exits
// when the queue is empty.
type groupWriter struct {
	st      Store
	timeout time.Duration
	// gather is how long the flusher waits for more steps before a
	// transaction; 0 writes at once.
	gather  func() time.Duration
	onBatch func(steps int, err error)

	mu       sync.Mutex
	pending  []*queuedStep
	flushers int
}

type queuedStep struct {
	step store.Step
	done chan stepOutcome // capacity 1: the flusher never blocks on it
}

type stepOutcome struct {
	res store.StepResult
	err error
}

// apply queues step and waits for the transaction that carries it. The
// error is the batch's (nothing of it is saved); res.Err is this step's
// own outcome (conflict, replay, missing row).
func (w *groupWriter) apply(step store.Step) (store.StepResult, error) {
	q := &queuedStep{step: step, done: make(chan stepOutcome, 1)}
	w.mu.Lock()
	w.pending = append(w.pending, q)
	// A second flusher only when the first is busy with a transaction
	// and steps pile up behind it.
	start := w.flushers == 0 || (w.flushers < maxFlushers && len(w.pending) > 1)
	if start {
		w.flushers++
	}
	w.mu.Unlock()
	if start {
		go w.flush()
	}
	o := <-q.done
	return o.res, o.err
}

func (w *groupWriter) flush() {
	for {
		if d := w.gather(); d > 0 {
			time.Sleep(d)
		}
		w.mu.Lock()
		n := min(len(w.pending), maxBatchSteps)
		if n == 0 {
			w.flushers--
			w.mu.Unlock()
			return
		}
		batch := w.pending[:n:n]
		w.pending = append([]*queuedStep(nil), w.pending[n:]...)
		w.mu.Unlock()
		w.write(batch)
	}
}

func (w *groupWriter) write(batch []*queuedStep) {
	steps := make([]store.Step, len(batch))
	for i, q := range batch {
		steps[i] = q.step
	}
	// Detached from any conversation: a started transaction completes (or
	// times out) even while the agent shuts down.
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	res, err := w.st.ApplySteps(ctx, steps)
	cancel()
	if w.onBatch != nil {
		w.onBatch(len(steps), err)
	}
	for i, q := range batch {
		if err != nil {
			q.done <- stepOutcome{err: err}
			continue
		}
		q.done <- stepOutcome{res: res[i]}
	}
}
