package relay

import (
	"sync"
	"sync/atomic"
	"time"
)

// pushResult says what happened to a frame offered to a queue.
type pushResult int

const (
	pushed        pushResult = iota
	pushedLagging            // queued, but the queue is past its soft bound
	pushFull                 // over the byte bound: the recipient is too slow
	pushClosed               // the recipient is going away
)

// outQueue is one client's bounded outbound queue. Producers (other
// clients' readers) append frames; the client's writer takes everything at
// once, so one lock round-trip and one writev cover a whole batch.
type outQueue struct {
	mu      sync.Mutex
	items   []*frame
	bytes   int
	limit   int           // hard bound: past it the recipient is too slow
	soft    int           // past it, senders wait briefly for a drain
	closed  bool          // no more pushes; the writer flushes and exits
	final   *frame        // written last, after pending frames (a warning)
	drained chan struct{} // made by a stalled producer, closed on take
	wake    chan struct{} // cap 1: the writer has work or must exit
	// writeStart is when the writer's current socket write began (0: not
	// writing). A write blocked for long means the client stopped reading;
	// a writer that is merely idle or waiting for CPU is not stuck.
	writeStart atomic.Int64
	aborted    atomic.Bool // set by abort, read by the writer without the lock
}

func newOutQueue(limit, soft int) *outQueue {
	return &outQueue{limit: limit, soft: min(soft, limit/2), wake: make(chan struct{}, 1)}
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push queues f (the caller has already retained a reference for it). On
// pushFull and pushClosed the reference is released here.
func (q *outQueue) push(f *frame) pushResult {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		f.release()
		return pushClosed
	}
	if q.bytes+len(f.b) > q.limit && len(q.items) > 0 {
		q.mu.Unlock()
		f.release()
		return pushFull
	}
	wasEmpty := len(q.items) == 0
	q.items = append(q.items, f)
	q.bytes += len(f.b)
	lagging := q.bytes > q.soft
	q.mu.Unlock()
	if wasEmpty {
		q.signal()
	}
	if lagging {
		return pushedLagging
	}
	return pushed
}

// draining reports whether the writer is not stuck in one socket write for
// longer than window at now (unix nanos): the client is behind but alive,
// so worth waiting for.
func (q *outQueue) draining(now int64, window time.Duration) bool {
	since := q.writeStart.Load()
	return since == 0 || now-since <= int64(window)
}

// waitDrain blocks until the writer next takes from the queue, the timer
// fires or done closes.
func (q *outQueue) waitDrain(stall time.Duration, timer *time.Timer, done <-chan struct{}) {
	q.mu.Lock()
	if q.closed || len(q.items) == 0 {
		q.mu.Unlock()
		return
	}
	if q.drained == nil {
		q.drained = make(chan struct{})
	}
	ch := q.drained
	q.mu.Unlock()
	timer.Reset(stall)
	select {
	case <-ch:
	case <-timer.C:
	case <-done:
	}
	timer.Stop()
}

// take moves every queued frame into spare (reused by the caller) and
// reports whether the queue is closed and what to write last.
func (q *outQueue) take(spare []*frame) (batch []*frame, final *frame, closed bool) {
	q.mu.Lock()
	batch, q.items = q.items, spare[:0]
	q.bytes = 0
	if q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
	closed = q.closed
	if closed && len(batch) == 0 {
		final, q.final = q.final, nil
	}
	q.mu.Unlock()
	return batch, final, closed
}

// close stops further pushes; pending frames are still written, then final
// (if not nil and no final was set before). It reports whether this call
// closed the queue.
func (q *outQueue) close(final *frame) bool {
	q.mu.Lock()
	first := !q.closed
	q.closed = true
	if q.final == nil {
		q.final = final
	}
	q.mu.Unlock()
	q.signal()
	return first
}

// abort closes the queue and drops everything pending: the recipient is too
// slow, so only final (a warning) is still attempted.
func (q *outQueue) abort(final *frame) bool {
	q.aborted.Store(true)
	q.mu.Lock()
	first := !q.closed
	q.closed = true
	for i, f := range q.items {
		f.release()
		q.items[i] = nil
	}
	q.items = q.items[:0]
	q.bytes = 0
	if q.final == nil {
		q.final = final
	}
	if q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
	q.mu.Unlock()
	q.signal()
	return first
}
