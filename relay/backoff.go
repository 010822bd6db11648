package relay

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before reconnect attempt n (0-based): exponential
// from min, capped at max, with "equal jitter" (half fixed, half random) so
// a fleet that lost its relay does not reconnect in lockstep.
func backoff(n int, minD, maxD time.Duration) time.Duration {
	d := minD
	for i := 0; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
