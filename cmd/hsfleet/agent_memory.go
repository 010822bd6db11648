package main

import "runtime/debug"

// releaseUnsealMemory hands the heap back to the OS once the sealed
// identity is open. Unsealing runs scrypt (N=16384, r=8: a 16 MiB buffer),
// by far the largest allocation an agent ever makes; without this the
// runtime keeps those pages resident for minutes, and a fleet of N agents
// on one machine pays N times that at start-up. GOGC and GOMEMLIMIT do not
// help here: the buffer is garbage already, it is just not returned.
func releaseUnsealMemory() {
	debug.FreeOSMemory()
}
