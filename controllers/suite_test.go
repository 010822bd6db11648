package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
)

// The envtest control plane (a real kube-apiserver and etcd) and the
// PostgreSQL cluster are started once per test binary, on first use, and
// stopped by TestMain.
var suite struct {
	envOnce sync.Once
	env     *envtest.Environment
	cfg     *rest.Config
	scheme  *runtime.Scheme
	client  client.Client // uncached: what the API server really holds
	envErr  error

	pgOnce sync.Once
	pg     *pgtest.Cluster
	pgErr  error
}

func TestMain(m *testing.M) {
	// Controller and envtest logs: errors only, unless HSFLEET_TEST_LOG=debug|info.
	level := slog.LevelError
	if v := os.Getenv("HSFLEET_TEST_LOG"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	code := m.Run()
	if suite.env != nil {
		if err := suite.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}
	if suite.pg != nil {
		if err := suite.pg.Destroy(); err != nil {
			fmt.Fprintln(os.Stderr, "destroy PostgreSQL:", err)
		}
	}
	os.Exit(code)
}

// envtestAssets finds etcd and kube-apiserver: KUBEBUILDER_ASSETS (set by
// hack/test-env.sh), else the cached build from hack/envtest-assets.sh.
func envtestAssets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command(filepath.Join("..", "hack", "envtest-assets.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("hack/envtest-assets.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func testEnv(t testing.TB) (*rest.Config, client.Client) {
	t.Helper()
	suite.envOnce.Do(func() {
		assets, err := envtestAssets()
		if err != nil {
			suite.envErr = err
			return
		}
		suite.env = &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets,
		}
		if suite.cfg, err = suite.env.Start(); err != nil {
			suite.envErr = fmt.Errorf("start envtest: %w", err)
			return
		}
		// 200 agents and their objects: don't let client-side throttling
		// measure the rate limiter instead of the operator.
		suite.cfg.QPS, suite.cfg.Burst = 500, 1000
		if suite.scheme, err = NewScheme(); err != nil {
			suite.envErr = err
			return
		}
		suite.client, suite.envErr = client.New(suite.cfg, client.Options{Scheme: suite.scheme})
	})
	if suite.envErr != nil {
		t.Fatalf("envtest: %v", suite.envErr)
	}
	return suite.cfg, suite.client
}

// testDSN is a fresh PostgreSQL database for one test.
func testDSN(t testing.TB) string {
	t.Helper()
	if os.Getenv(pgtest.EnvDSN) != "" {
		return pgtest.DSN(t)
	}
	suite.pgOnce.Do(func() { suite.pg, suite.pgErr = pgtest.StartCluster(pgtest.ClusterOptions{}) })
	if suite.pgErr != nil {
		t.Fatalf("PostgreSQL: %v", suite.pgErr)
	}
	return suite.pg.NewDatabase(t)
}

// newNamespace isolates one test; every operator under test is scoped to it.
func newNamespace(t testing.TB) string {
	t.Helper()
	_, c := testEnv(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "hsa-test-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func createDatabaseSecret(t testing.TB, ns, name, dsn string) {
	t.Helper()
	_, c := testEnv(t)
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: map[string]string{DatabaseDSNKey: dsn},
	}
	if err := c.Create(context.Background(), sec); err != nil {
		t.Fatalf("create database Secret: %v", err)
	}
}

// testOperatorConfig is a fast-refreshing operator configuration.
func testOperatorConfig() Config {
	return Config{
		AgentImage:            "hsfleet:test",
		DefaultRelay:          "relay.hsfleet.svc:8888",
		DefaultDatabaseSecret: "hsfleet-db",
		StatusInterval:        500 * time.Millisecond,
		StatusCounterInterval: time.Second,
		DatabaseTimeout:       3 * time.Second,
		Rotation:              testRotation,
	}
}

// runningOperator is one manager process, as `hsfleet operator` builds it,
// watching one namespace.
type runningOperator struct {
	stop   context.CancelFunc
	done   chan error
	stores *StorePool
	mesh   *FleetMesh
	once   sync.Once
}

func (o *runningOperator) Stop(t testing.TB) {
	o.once.Do(func() {
		o.stop()
		select {
		case err := <-o.done:
			if err != nil {
				t.Errorf("manager exited with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop within 30s")
		}
		if err := o.stores.Close(); err != nil {
			t.Errorf("close stores: %v", err)
		}
	})
}

func startOperator(t testing.TB, namespace string, cfg Config) *runningOperator {
	t.Helper()
	return startOperatorWith(t, ManagerOptions{
		Namespaces:                   []string{namespace},
		MetricsAddr:                  "0",
		ProbeAddr:                    "0",
		SkipControllerNameValidation: true, // several managers in one test binary
	}, cfg)
}

func startOperatorWith(t testing.TB, opts ManagerOptions, cfg Config) *runningOperator {
	t.Helper()
	restCfg, _ := testEnv(t)
	return startOperatorOn(t, restCfg, opts, cfg)
}

// startOperatorOn runs an operator with its own client configuration.
func startOperatorOn(t testing.TB, restCfg *rest.Config, opts ManagerOptions, cfg Config) *runningOperator {
	t.Helper()
	built, err := NewOperator(restCfg, opts, cfg)
	if err != nil {
		t.Fatalf("new manager: %v", err)
	}
	mgr := built.Manager
	ctx, cancel := context.WithCancel(context.Background())
	op := &runningOperator{stop: cancel, done: make(chan error, 1), stores: built.Stores, mesh: built.Mesh}
	go func() { op.done <- mgr.Start(ctx) }()
	t.Cleanup(func() { op.Stop(t) })
	return op
}

// eventually polls check until it returns nil, failing the test with the
// last error after timeout.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")
