package main

import (
	"runtime"
	"testing"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// retainedHeap is the heap memory the runtime still holds from the OS.
func retainedHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapSys - m.HeapReleased
}

func TestReleaseUnsealMemoryReturnsTheScryptBufferToTheOS(t *testing.T) {
	id, err := crypto.NewIdentity("memtest")
	if err != nil {
		t.Fatal(err)
	}
	pass := []byte("a passphrase")
	sealed, err := crypto.SealIdentity(id, pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.OpenIdentity(sealed, pass); err != nil { // scrypt: 16 MiB
		t.Fatal(err)
	}
	before := retainedHeap()
	releaseUnsealMemory()
	after := retainedHeap()
	const scryptBuffer = 16 << 20
	if before < after+scryptBuffer/2 {
		t.Fatalf("heap held from the OS %d MiB after unsealing, %d MiB after release: want at least %d MiB returned",
			before>>20, after>>20, scryptBuffer>>21)
	}
}
