package pgtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const childEnv = "PGTEST_ORPHAN_CHILD"

// TestOrphanChild is the child half of TestKilledTestBinaryLeavesNoServer:
// it starts a cluster, prints the server's pid and waits to be killed.
func TestOrphanChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("helper process for TestKilledTestBinaryLeavesNoServer")
	}
	c, err := StartCluster(ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	pid := c.running.cmd.Process.Pid
	c.mu.Unlock()
	fmt.Printf("postmaster=%d root=%s\n", pid, c.root)
	time.Sleep(2 * time.Minute)
}

func TestKilledTestBinaryLeavesNoServer(t *testing.T) {
	child := exec.Command(os.Args[0], "-test.run=^TestOrphanChild$", "-test.count=1")
	child.Env = append(os.Environ(), childEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer child.Process.Kill()
	var pid int
	var root string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "postmaster=%d root=%s", &pid, &root); err == nil {
			break
		}
	}
	if pid == 0 || !processAlive(pid) {
		t.Fatalf("child did not report a running server (pid %d)", pid)
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no cleanup code runs
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for processAlive(pid) && isPostgres(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postgres %d still running 20s after its test binary was killed", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The next cluster start reaps the directory the killed binary left.
	child.Wait()
	reapStaleClusters()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("stale cluster dir %s not reaped: %v", root, err)
	}
}

func TestReaperKeepsClustersOfLiveOwners(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(owner int) string {
		dir, err := os.MkdirTemp("", dirPrefix+"*")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, ownerPidFile), []byte(strconv.Itoa(owner)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	live, stale := mk(os.Getpid()), mk(dead.Process.Pid)
	unowned, err := os.MkdirTemp("", dirPrefix+"*") // being created right now by someone else
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(unowned) })
	reapStaleClusters()
	for dir, wantKept := range map[string]bool{live: true, stale: false, unowned: true} {
		_, err := os.Stat(dir)
		if kept := err == nil; kept != wantKept {
			t.Errorf("%s kept=%v, want %v (%s)", dir, kept, wantKept, strings.TrimPrefix(dir, os.TempDir()))
		}
	}
}
