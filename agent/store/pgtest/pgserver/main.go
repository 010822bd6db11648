// Command pgserver runs a throwaway PostgreSQL cluster (the one the tests
// use) until interrupted, and prints its admin DSN, so a developer can run
// many test binaries against one server or poke at it with psql:
//
//	go run ./agent/store/pgtest/pgserver &   # prints HSFLEET_TEST_DSN=...
//	HSFLEET_TEST_DSN=postgres://... go test ./agent/...
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

func main() {
	durable := flag.Bool("durable", false, "keep fsync and synchronous_commit on (for benchmarks)")
	flag.Parse()
	c, err := pgtest.StartCluster(pgtest.ClusterOptions{Durable: *durable})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s=%s\n", pgtest.EnvDSN, c.AdminDSN())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := c.Destroy(); err != nil {
		slog.Error("stop cluster", "error", err)
		os.Exit(1)
	}
}
