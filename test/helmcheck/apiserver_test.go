package helmcheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServer is one envtest control plane shared by every test in the binary.
type apiServer struct {
	env    *envtest.Environment
	cfg    *rest.Config
	dyn    dynamic.Interface
	core   kubernetes.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// hasHSAgentCRD is false until the operator's CRD has been generated.
	hasHSAgentCRD bool
}

var (
	serverOnce sync.Once
	server     *apiServer
	serverErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		if err := server.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "helmcheck: stop envtest:", err)
		}
	}
	os.Exit(code)
}

// envtestAssets returns KUBEBUILDER_ASSETS, building the binaries through
// hack/envtest-assets.sh when `go test` runs outside `make test`.
func envtestAssets(root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	script := filepath.Join(root, "hack", "envtest-assets.sh")
	if !isExecutable(script) {
		return "", nil
	}
	var stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// startAPIServer starts envtest with the chart's CRDs and a minimal
// ServiceMonitor CRD, so optional monitoring objects validate too.
func startAPIServer(t testing.TB) *apiServer {
	t.Helper()
	serverOnce.Do(func() {
		root := repoRoot(t)
		assets, err := envtestAssets(root)
		if err != nil {
			serverErr = err
			return
		}
		if assets == "" {
			return // no way to get kube-apiserver here: skipped below
		}
		crdDirs := []string{filepath.Join(root, "test", "helmcheck", "testdata", "crds")}
		chartCRDs := filepath.Join(root, "charts", "hsfleet", "files", "crds")
		hasCRD := fileExists(filepath.Join(chartCRDs, "hsfleet.io_hsagents.yaml"))
		if hasCRD {
			crdDirs = append(crdDirs, chartCRDs)
		}
		env := &envtest.Environment{
			BinaryAssetsDirectory: assets,
			CRDDirectoryPaths:     crdDirs,
			ErrorIfCRDPathMissing: true,
		}
		cfg, err := env.Start()
		if err != nil {
			serverErr = fmt.Errorf("start envtest: %w", err)
			return
		}
		s := &apiServer{env: env, cfg: cfg, hasHSAgentCRD: hasCRD}
		server = s // stopped by TestMain even if a later step fails
		if s.dyn, err = dynamic.NewForConfig(cfg); err != nil {
			serverErr = err
			return
		}
		if s.core, err = kubernetes.NewForConfig(cfg); err != nil {
			serverErr = err
			return
		}
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			serverErr = err
			return
		}
		s.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	})
	if serverErr != nil {
		t.Fatalf("envtest API server: %v", serverErr)
	}
	if server == nil {
		t.Skip("no kube-apiserver: KUBEBUILDER_ASSETS is unset and hack/envtest-assets.sh is missing")
	}
	return server
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ensureNamespace really creates a namespace: a dry-run namespace would not
// exist for the namespaced objects applied after it.
func (s *apiServer) ensureNamespace(ctx context.Context, name string) error {
	_, err := s.core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// dryRunApply server-side applies obj with dryRun=All: the API server runs
// defaulting, schema validation, CEL rules and admission, and stores nothing.
func (s *apiServer) dryRunApply(ctx context.Context, obj *unstructured.Unstructured, defaultNamespace string) error {
	gvk := obj.GroupVersionKind()
	mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s is not served: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = s.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = defaultNamespace
			obj.SetNamespace(ns)
		}
		if err := s.ensureNamespace(ctx, ns); err != nil {
			return err
		}
		ri = s.dyn.Resource(mapping.Resource).Namespace(ns)
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: "hsfleet-helmcheck",
		Force:        true,
		DryRun:       []string{metav1.DryRunAll},
	})
	return err
}

// applyAll dry-run applies every object and reports each failure by name.
func applyAll(t *testing.T, s *apiServer, objs []*unstructured.Unstructured, namespace string) {
	t.Helper()
	if len(objs) == 0 {
		t.Fatal("nothing rendered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, o := range objs {
		if err := s.dryRunApply(ctx, o, namespace); err != nil {
			t.Errorf("%s %s/%s rejected by the API server: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}
