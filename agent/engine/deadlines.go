package engine

import "time"

// deadlines are a conversation's timers. Every instant is on the injected
// clock (Config.Now); the runner's timer waits for next().Sub(now) of that
// same clock, so a test clock moves all of them together.
type deadlines struct {
	// progress is the last progress. The state timeout runs from here; a
	// cycle pause sets it in the future, which also defers the timeout.
	progress time.Time
	// input is the last message from the peer (idle eviction).
	input time.Time
	// retry is the next re-send.
	retry time.Time
}

// state is when the current state times out without progress.
func (d deadlines) state(timeout time.Duration) time.Time { return d.progress.Add(timeout) }

// stateDue reports whether the state timeout has passed at now.
func (d deadlines) stateDue(now time.Time, timeout time.Duration) bool {
	return !now.Before(d.state(timeout))
}

// idleSince is the later of the last progress and the last message.
func (d deadlines) idleSince() time.Time {
	if d.input.After(d.progress) {
		return d.input
	}
	return d.progress
}

// next is the earlier of the retry and the state deadline.
func (d deadlines) next(timeout time.Duration) time.Time {
	if s := d.state(timeout); s.Before(d.retry) {
		return s
	}
	return d.retry
}
