// Package benchcpu reports process CPU time per benchmark iteration.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Measure reports process CPU time (user+system) per iteration as
// "cpu-ns/op" next to the wall-clock ns/op. On a shared machine ns/op
// swings with other tenants' load; CPU time stays close to the work done,
// so overhead ratios are computed from it. Call it right before b.Loop and
// the returned func right after.
func Measure(b *testing.B) (stop func()) {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
