package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, 100 on every Linux the project runs on.
const clockTicks = 100

// procSample is one process's CPU time (user+system) and resident memory.
type procSample struct {
	cpuSeconds float64
	rssBytes   int64
}

// readProc reads /proc/PID/stat and /proc/PID/statm.
func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// comm (field 2) may hold spaces; fields after its ')' are fixed.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	statm, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return procSample{}, err
	}
	mf := strings.Fields(string(statm))
	if len(mf) < 2 {
		return procSample{}, fmt.Errorf("/proc/%d/statm: short", pid)
	}
	pages, err := strconv.ParseInt(mf[1], 10, 64)
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/statm: %w", pid, err)
	}
	return procSample{
		cpuSeconds: float64(ut+st) / clockTicks,
		rssBytes:   pages * int64(os.Getpagesize()),
	}, nil
}

// loadAverage is /proc/loadavg's first three fields, for the report: the
// machine is shared, so every figure needs its load next to it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
