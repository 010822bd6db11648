// Package pgtest gives tests a real, empty PostgreSQL database.
//
// DSN returns a fresh database per call: on the server named by
// HSFLEET_TEST_DSN when it is set, otherwise on a throwaway cluster that
// this package creates with initdb and runs with the postgres binary on a
// free 127.0.0.1 port. The throwaway cluster is started lazily, once per
// test binary, and stopped by Main (call it from TestMain) or, if the test
// binary dies first, by the kernel: the server is started with a
// parent-death signal, and stale cluster directories left by killed test
// binaries are reaped on the next start.
//
// initdb refuses to run as root, so when the test binary runs as root the
// server runs as the "postgres" OS user (hack/ci-deps.sh creates it).
package pgtest
