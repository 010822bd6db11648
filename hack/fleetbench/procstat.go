package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, 100 on every Linux the project runs on.
const clockTicks = 100

// procSample is one process's CPU time (user+system), the CPU time of its
// children it has waited for, its parent and resident memory.
type procSample struct {
	cpuSeconds      float64
	childCPUSeconds float64 // cutime+cstime: children that exited and were reaped
	ppid            int
	rssBytes        int64
	// privateBytes is the private part of rssBytes (smaps_rollup); -1
	// when the kernel has no smaps_rollup.
	privateBytes int64
}

// readProc reads /proc/PID/stat, /proc/PID/statm and
// /proc/PID/smaps_rollup.
func readProc(pid int) (procSample, error) {
	p, err := readStat(pid)
	if err != nil {
		return procSample{}, err
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
	p.rssBytes = pages * int64(os.Getpagesize())
	if p.privateBytes, err = readPrivateBytes(pid); err != nil {
		p.privateBytes = -1
	}
	return p, nil
}

// readStat reads the CPU times and parent of /proc/PID/stat.
func readStat(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	p, err := parseStat(string(stat))
	if err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return p, nil
}

// parseStat reads ppid (field 4), utime, stime, cutime and cstime (fields
// 14-17) of a /proc/PID/stat line. comm (field 2) may hold spaces and
// parentheses; the fields after its last ')' are fixed.
func parseStat(s string) (procSample, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("no comm")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 15 {
		return procSample{}, fmt.Errorf("short")
	}
	var v [5]int64
	for j, k := range []int{4, 14, 15, 16, 17} {
		n, err := strconv.ParseInt(f[k-3], 10, 64)
		if err != nil {
			return procSample{}, fmt.Errorf("field %d: %w", k, err)
		}
		v[j] = n
	}
	return procSample{
		ppid:            int(v[0]),
		cpuSeconds:      float64(v[1]+v[2]) / clockTicks,
		childCPUSeconds: float64(v[3]+v[4]) / clockTicks,
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
