package main

import (
	"context"
	"flag"
	"os"

	"github.com/hsfleet/hsfleet/internal/meshcmd"
)

func init() {
	register(command{name: "mesh", summary: "print the fleet's pair matrix from the database or the cluster", run: runMesh})
}

func runMesh(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mesh", flag.ContinueOnError)
	var c meshcmd.Config
	c.Register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return meshcmd.Run(ctx, c, os.Stdout)
}
