// Command kubectl-hsfleet is the kubectl plugin: `kubectl hsfleet mesh`
// prints the fleet's pair matrix (the same as `hsfleet mesh`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hsfleet/hsfleet/internal/meshcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "mesh" {
		fmt.Fprintln(stderr, "usage: kubectl hsfleet mesh [-n NAMESPACE | --all-namespaces] [--db DSN] [flags]\n"+
			"  mesh   the pair matrix: cycles, age of the last cycle, stalled pairs")
		return 2
	}
	fs := flag.NewFlagSet("kubectl hsfleet mesh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c meshcmd.Config
	c.Register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := meshcmd.Run(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "kubectl hsfleet mesh:", err)
		return 1
	}
	return 0
}
