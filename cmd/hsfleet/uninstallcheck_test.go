package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/hsfleet/hsfleet/internal/mesh/meshtest"
)

// TestUninstallCheckRefusesWhileHSAgentsExist runs the pre-delete check
// against a real API server: it passes with no HSAgents, and with some it
// fails, naming them and the command that removes them first.
func TestUninstallCheckRefusesWhileHSAgentsExist(t *testing.T) {
	c, kubeconfig := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := uninstallCheck(ctx, cfg, nil, "hsfleet-system/hsfleet", &out); err != nil {
		t.Fatalf("no HSAgents: %v\n%s", err, out.String())
	}
	meshtest.Seed(t, c, time.Now()) // HSAgents in namespace "fleet"
	out.Reset()
	err = uninstallCheck(ctx, cfg, nil, "hsfleet-system/hsfleet", &out)
	if !errors.Is(err, errAgentsExist) {
		t.Fatalf("with HSAgents: %v, want errAgentsExist\n%s", err, out.String())
	}
	for _, want := range []string{"fleet/alice", "kubectl delete hsa --all -A --wait && helm -n hsfleet-system uninstall hsfleet", "--no-hooks"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := uninstallCheck(ctx, cfg, []string{"default"}, "", &out); err != nil {
		t.Errorf("HSAgents only outside the watched namespaces: %v\n%s", err, out.String())
	}
}
