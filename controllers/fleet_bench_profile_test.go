package controllers

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
)

// startProfiles, when HSFLEET_BENCH_PROFILE_DIR is set, writes a heap
// profile of the converged operator (after a GC: what is live) and a CPU
// profile of the steady-state window, so the figures can be attributed.
// The returned func ends the CPU profile and writes a second heap profile.
func startProfiles(b *testing.B) func() {
	dir := os.Getenv("HSFLEET_BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	writeHeap(b, filepath.Join(dir, "heap-converged.pprof"))
	cpu, err := os.Create(filepath.Join(dir, "cpu-window.pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		writeHeap(b, filepath.Join(dir, "heap-window.pprof"))
	}
}

func writeHeap(b *testing.B, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
