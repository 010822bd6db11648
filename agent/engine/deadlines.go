package engine

import "time"

// deadlines are a conversation's timers, each named for what it is. Every
// instant is on the injected clock (Config.Now); the runner's timer waits
// for next().Sub(now) of that same clock, so a test clock moves all of
// them together (deadlines_test.go).
type deadlines struct {
	timeout time.Duration // Config.StateTimeout
	// progress is the last progress, input the last message from the
	// peer; idle eviction runs from the later of the two.
	progress, input time.Time
	// state is when the current state times out. It runs from the last
	// progress, or from the end of a cycle pause or a store back-off.
	state time.Time
	// retry is the next re-send.
	retry time.Time
}

func newDeadlines(timeout time.Duration, now time.Time) deadlines {
	d := deadlines{timeout: timeout, retry: now}
	d.progressed(now)
	return d
}

// progressed records progress at now: the state timeout starts over.
func (d *deadlines) progressed(now time.Time) {
	d.progress = now
	d.state = now.Add(d.timeout)
}

// rewait starts the state wait over at now without progress: a timeout
// that keeps its state (an unanswered reconnect), or a wait that is ours
// (a cycle slot, the start gate), not the peer's.
func (d *deadlines) rewait(now time.Time) { d.progressed(now) }

// pause is the initiator's cycle pause (Config.CycleInterval) after a
// completed cycle: the state timeout only runs once it ends, so a pause
// longer than the state timeout never counts as the peer's silence. (The
// caller sets the re-send for the end of the pause.)
func (d *deadlines) pause(now time.Time, pause time.Duration) {
	d.progress = now
	d.state = now.Add(pause + d.timeout)
}

// backOff delays a state timeout whose step could not be saved by wait:
// left alone, the passed deadline would fire again at once and spin on
// the database. The re-send waits as long.
func (d *deadlines) backOff(now time.Time, wait time.Duration) {
	d.state = now.Add(wait)
	d.retry = now.Add(wait)
}

// stateDue reports whether the state timeout has passed at now.
func (d deadlines) stateDue(now time.Time) bool { return !now.Before(d.state) }

// idleSince is the later of the last progress and the last message.
func (d deadlines) idleSince() time.Time {
	if d.input.After(d.progress) {
		return d.input
	}
	return d.progress
}

// next is the earlier of the retry and the state deadline.
func (d deadlines) next() time.Time {
	if d.state.Before(d.retry) {
		return d.state
	}
	return d.retry
}
