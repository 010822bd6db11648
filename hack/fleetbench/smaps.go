package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// readPrivateBytes is the process's private resident memory: the
// Private_* lines of /proc/PID/smaps_rollup. RSS also counts the pages of
// the hsfleet binary that N identical agents share, so N×RSS overstates
// what a fleet costs; the sum of private memory does not.
func readPrivateBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := parseSmapsRollup(f)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/smaps_rollup: %w", pid, err)
	}
	return n, nil
}

// parseSmapsRollup sums the Private_Clean, Private_Dirty and
// Private_Hugetlb lines ("Private_Dirty:   112 kB") in bytes.
func parseSmapsRollup(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	var sum int64
	found := 0
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(key, "Private_") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: want \"N kB\", got %q", key, rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("%s: bad size %q", key, f[0])
		}
		sum += kb << 10
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if found == 0 {
		return 0, fmt.Errorf("no Private_ lines")
	}
	return sum, nil
}
