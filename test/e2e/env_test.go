//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// config is the suite's environment, read once.
type config struct {
	namespace string
	// otherNamespace holds HSAgents outside the release namespace (listed
	// in agentNamespaces); the relay's trust source decides whether they
	// authenticate.
	otherNamespace string
	release        string
	helmArgs       []string
	databaseDSN    string
	artifacts      string
	timeout        time.Duration
	root           string
}

func loadConfig(t *testing.T) config {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG must point at the cluster under test")
	}
	_, file, _, _ := runtime.Caller(0)
	c := config{
		namespace:   envOr("E2E_NAMESPACE", "hsfleet-e2e"),
		release:     "hsfleet",
		helmArgs:    strings.Fields(os.Getenv("E2E_HELM_ARGS")),
		databaseDSN: os.Getenv("E2E_DATABASE_DSN"),
		artifacts:   os.Getenv("E2E_ARTIFACTS"),
		timeout:     5 * time.Minute,
		root:        filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")),
	}
	c.otherNamespace = envOr("E2E_OTHER_NAMESPACE", c.namespace+"-b")
	if v := os.Getenv("E2E_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("E2E_TIMEOUT=%q: %v", v, err)
		}
		c.timeout = d
	}
	if c.artifacts == "" {
		c.artifacts = filepath.Join(os.TempDir(), "hsfleet-e2e-"+time.Now().UTC().Format("20060102T150405"))
	}
	return c
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
