package pgtest

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// reapStaleClusters removes clusters left behind by test binaries that were
// killed before they could stop their server: the owner process is gone,
// so the server (if the parent-death signal somehow missed it) is stopped
// and the directory removed. Directories of live owners are left alone.
func reapStaleClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		owner, ok := readPid(filepath.Join(dir, ownerPidFile))
		if !ok || processAlive(owner) {
			continue
		}
		if pm, ok := readPid(filepath.Join(dir, "data", "postmaster.pid")); ok && processAlive(pm) && isPostgres(pm) {
			_ = syscall.Kill(pm, syscall.SIGQUIT)
		}
		_ = os.RemoveAll(dir)
	}
}

// readPid reads the first line of a pid file.
func readPid(path string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	return pid, err == nil && pid > 0
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// isPostgres guards against pid reuse: only signal a process that is a
// postgres server.
func isPostgres(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "postgres")
}
