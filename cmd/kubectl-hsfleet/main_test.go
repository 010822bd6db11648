package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginUsageAndMesh(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: kubectl hsfleet mesh") {
		t.Errorf("no subcommand: exit %d, stderr %q", code, errOut.String())
	}
	// An empty SQLite database: a mesh of no agents, exit 0.
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "empty.db")
	if code := run(context.Background(), []string{"mesh", "--db", dsn, "--color", "never"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "mesh: 0 agents, 0 pairs, 0 stalled") {
		t.Errorf("mesh: exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	if code := run(context.Background(), []string{"mesh", "--color", "pink", "--db", dsn}, &out, &errOut); code != 1 {
		t.Errorf("bad flag value: exit %d, want 1", code)
	}
}
