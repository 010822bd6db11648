package relay

import "time"

// fixedWindow is the Rust server's per-connection rate limiter: at most
// limit lines per window; the count resets once window has elapsed since
// the window started (not a sliding window, on purpose, to match it).
type fixedWindow struct {
	limit  int
	window time.Duration
	start  time.Time
	count  int
}

func newFixedWindow(limitPerMinute int) *fixedWindow {
	if limitPerMinute <= 0 {
		return nil
	}
	return &fixedWindow{limit: limitPerMinute, window: time.Minute}
}

// allow reports whether one more line fits in the current window.
func (w *fixedWindow) allow(now time.Time) bool {
	if w.start.IsZero() || now.Sub(w.start) >= w.window {
		w.start, w.count = now, 0
	}
	if w.count >= w.limit {
		return false
	}
	w.count++
	return true
}
