package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
)

// serverProcs finds the PostgreSQL server's processes through /proc: the
// harness's own backend's parent is the postmaster. pgtest does not hand
// out the server's PID, and this also works for any server on this host.
type serverProcs struct {
	postmaster int
	ownBackend int // the monitor's backend, left out of the server's CPU
}

func findServer(ctx context.Context, m *monitor) (serverProcs, error) {
	var own int
	m.ownCommits++
	if err := m.db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&own); err != nil {
		return serverProcs{}, fmt.Errorf("server pid: %w", err)
	}
	st, err := readStat(own)
	if err != nil {
		return serverProcs{}, fmt.Errorf("server pid (is PostgreSQL on this host?): %w", err)
	}
	return serverProcs{postmaster: st.ppid, ownBackend: own}, nil
}

// cpu is the server's CPU seconds so far: the postmaster's own and reaped
// children's time plus every live child's (backends, WAL writer,
// checkpointer, ...), without the monitor's backend. A backend that exits
// moves its time from the live sum to the postmaster's reaped-children
// time, so differences between two calls stay right.
func (p serverProcs) cpu() (float64, error) {
	pm, err := readStat(p.postmaster)
	if err != nil {
		return 0, err
	}
	total := pm.cpuSeconds + pm.childCPUSeconds
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == p.ownBackend || pid == p.postmaster {
			continue
		}
		if st, err := readStat(pid); err == nil && st.ppid == p.postmaster {
			total += st.cpuSeconds
		}
	}
	return total, nil
}
