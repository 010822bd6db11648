package main

import "runtime/debug"

// releaseUnsealMemory hands the heap back to the OS once the sealed
// identity is open. Unsealing runs scrypt (N=16384, r=8: a 16 MiB buffer),
// by far the largest allocation an agent ever makes; without this the
// runtime kept those pages resident (an idle agent's RssAnon was still
// 25 MiB two minutes after start, 8.7 MiB with this), and a fleet of N
// agents on one machine pays N times that. GOGC and GOMEMLIMIT do not help
// here: the buffer is garbage already, it is just not returned.
func releaseUnsealMemory() {
	debug.FreeOSMemory()
}
