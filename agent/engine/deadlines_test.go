package engine

import (
	"testing"
	"time"
)

// The named deadlines on a fake clock: every instant below is t0 plus an
// offset, so the test needs no sleeping and no real timer.
func TestDeadlines(t *testing.T) {
	const timeout = 10 * time.Second
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	t.Run("progress starts the state timeout over; the retry comes first", func(t *testing.T) {
		d := newDeadlines(timeout, t0)
		if !d.next().Equal(t0) || d.stateDue(at(timeout-time.Nanosecond)) || !d.stateDue(at(timeout)) {
			t.Fatalf("fresh: next %v, state %v", d.next(), d.state)
		}
		d.retry = at(time.Second)
		d.progressed(at(7 * time.Second))
		if d.stateDue(at(16*time.Second)) || !d.stateDue(at(17*time.Second)) || !d.next().Equal(at(time.Second)) {
			t.Fatalf("after progress at +7s: state %v, next %v", d.state, d.next())
		}
	})

	t.Run("a cycle pause longer than the state timeout is not the peer's silence", func(t *testing.T) {
		d := newDeadlines(timeout, t0)
		pause := 3 * timeout
		d.pause(t0, pause)
		d.retry = at(pause)
		for _, off := range []time.Duration{timeout, 2 * timeout, pause, pause + timeout - time.Nanosecond} {
			if d.stateDue(at(off)) {
				t.Fatalf("state timeout due at +%v during/just after a %v pause", off, pause)
			}
		}
		if !d.stateDue(at(pause+timeout)) || !d.next().Equal(at(pause)) {
			t.Fatalf("state %v (want +%v), next %v (want the pause's end)", d.state, pause+timeout, d.next())
		}
		if !d.idleSince().Equal(t0) {
			t.Fatalf("idle since %v, want the pause's start", d.idleSince())
		}
	})

	t.Run("a store back-off defers the timeout and the re-send alike", func(t *testing.T) {
		d := newDeadlines(timeout, t0)
		d.backOff(at(timeout), 400*time.Millisecond)
		want := at(timeout + 400*time.Millisecond)
		if d.stateDue(at(timeout+399*time.Millisecond)) || !d.stateDue(want) || !d.next().Equal(want) {
			t.Fatalf("back-off: state %v retry %v, want both %v", d.state, d.retry, want)
		}
		if !d.progress.Equal(t0) {
			t.Fatalf("a back-off is not progress: %v", d.progress)
		}
	})

	t.Run("idle eviction runs from the later of progress and input", func(t *testing.T) {
		d := newDeadlines(timeout, t0)
		d.input = at(5 * time.Second)
		if !d.idleSince().Equal(at(5 * time.Second)) {
			t.Fatalf("idle since %v", d.idleSince())
		}
		d.rewait(at(8 * time.Second))
		if !d.idleSince().Equal(at(8*time.Second)) || !d.state.Equal(at(18*time.Second)) {
			t.Fatalf("rewait: idle since %v, state %v", d.idleSince(), d.state)
		}
	})
}
