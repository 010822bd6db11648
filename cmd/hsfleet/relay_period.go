package main

import (
	"fmt"
	"time"
)

// boundedDuration is a duration flag that refuses values outside
// [min, max] when it is set, so a bad flag or HSFLEET_* variable stops
// the process at start with a message naming the range, not later.
type boundedDuration struct {
	d        *time.Duration
	min, max time.Duration
}

func (b boundedDuration) String() string {
	if b.d == nil {
		return ""
	}
	return b.d.String()
}

func (b boundedDuration) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	if d < b.min || d > b.max {
		return fmt.Errorf("%v is outside %v..%v", d, b.min, b.max)
	}
	*b.d = d
	return nil
}

// Bounds of --cluster-presence-period: below a second the re-announces of
// a large set of IDs become steady bus load; above a minute a dead
// replica's IDs (kept 3 periods) blackhole directed lines for minutes.
const (
	minPresencePeriod = time.Second
	maxPresencePeriod = time.Minute
)
