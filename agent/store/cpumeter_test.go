package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuMeter reports CPU time per operation of a benchmark, because on a
// shared 2-core machine throughput swings with other tenants' load while
// CPU per operation does not (docs/database.md):
//
//   - cli-µs/op: this process (the Go client: database/sql, lib/pq, the
//     scheduler), from getrusage;
//   - srv-µs/op: the whole PostgreSQL cluster (postmaster, background
//     processes and every backend, live or exited), from /proc. Only when
//     the server runs on this machine and /proc shows it; otherwise the
//     metric is left out.
type cpuMeter struct {
	postmaster int
	cli0, srv0 time.Duration
	srvOK      bool
}

// startCPUMeter finds the server through backendPID (any backend of the
// cluster; its parent is the postmaster) and takes the first reading.
// Call it right before the timed loop.
func startCPUMeter(backendPID int) *cpuMeter {
	m := &cpuMeter{}
	if backendPID > 0 {
		if ppid, err := procParent(backendPID); err == nil {
			m.postmaster = ppid
		}
	}
	m.cli0 = selfCPU()
	m.srv0, m.srvOK = clusterCPU(m.postmaster)
	return m
}

// report adds the per-operation metrics for n operations.
func (m *cpuMeter) report(b *testing.B, n int) {
	if n <= 0 {
		return
	}
	cli := selfCPU() - m.cli0
	b.ReportMetric(float64(cli.Microseconds())/float64(n), "cli-µs/op")
	if srv, ok := clusterCPU(m.postmaster); ok && m.srvOK {
		b.ReportMetric(float64((srv-m.srv0).Microseconds())/float64(n), "srv-µs/op")
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStat returns the fields of /proc/PID/stat after the command name
// (field 3, state, is index 0).
func procStat(pid int) ([]string, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

func procParent(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1])
}

// procTicks sums fields 14.. of /proc/PID/stat: utime and stime, plus
// cutime and cstime (reaped children) when withChildren.
func procTicks(pid int, withChildren bool) (int64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	n := 2
	if withChildren {
		n = 4
	}
	var t int64
	for _, v := range f[11 : 11+n] {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		t += x
	}
	return t, nil
}

// clusterCPU is the CPU time of the postmaster, its exited children and
// its live children.
func clusterCPU(postmaster int) (time.Duration, bool) {
	if postmaster <= 0 {
		return 0, false
	}
	total, err := procTicks(postmaster, true)
	if err != nil {
		return 0, false
	}
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", postmaster, postmaster))
	if err != nil {
		return 0, false
	}
	for _, k := range strings.Fields(string(kids)) {
		pid, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		if t, err := procTicks(pid, false); err == nil { // it may just have exited
			total += t
		}
	}
	return time.Duration(total) * clockTick, true
}
