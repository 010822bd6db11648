package main

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/hsfleet/hsfleet/api/v1alpha1"
	"github.com/hsfleet/hsfleet/internal/mesh/meshtest"
	"github.com/hsfleet/hsfleet/internal/meshop"
)

// TestOperatorServesMeshPageBehindMetricsAuth: a manager wired as
// runOperator wires it (secure metrics with metricsAuthFilter, then
// meshop.Install) on a real API server. The page needs a token whose
// ServiceAccount may get /mesh/ (TokenReview + SubjectAccessReview): no
// token is 401, a valid token without the role 403.
func TestOperatorServesMeshPageBehindMetricsAuth(t *testing.T) {
	_, kubeconfig := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	meshtest.Seed(t, c, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	addr := freeAddr(t)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, HealthProbeBindAddress: "0",
		Metrics: metricsserver.Options{BindAddress: addr, SecureServing: true, FilterProvider: metricsAuthFilter}})
	if err != nil {
		t.Fatal(err)
	}
	if err := meshop.Install(mgr, nil, 0, 5*time.Minute, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()

	viewer, nobody := saToken(t, ctx, c, "viewer"), saToken(t, ctx, c, "nobody")
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mesh-viewer"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/mesh/", "/mesh/*"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mesh-viewer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "mesh-viewer"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "viewer", Namespace: "fleet"}}}
	for _, o := range []client.Object{role, binding} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	url := "https://" + addr + meshop.PagePath
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(token string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The server starts with the manager: wait for it, and for the cache to
	// list the HSAgents.
	var code int
	var body string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if code, body = get(viewer); code == http.StatusOK && strings.Contains(body, ">carol<") {
			break
		}
	}
	if code != http.StatusOK || !strings.Contains(body, ">alice<") || !strings.Contains(body, ">carol<") {
		t.Fatalf("viewer: %d\n%.500s", code, body)
	}
	if code, body := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %.200s; want 401", code, body)
	}
	// controller-runtime's filter turns the TokenReview's status.error
	// ("invalid bearer token") into an authentication error: 500, not 401.
	// Pinned so a library change that fixes it (or grants access) shows.
	if code, body := get("not-a-token"); code != http.StatusInternalServerError {
		t.Errorf("unknown token: %d %.200s; want 500 (library behaviour)", code, body)
	}
	if code, body := get(nobody); code != http.StatusForbidden {
		t.Errorf("token without the role: %d %.200s; want 403", code, body)
	}
}

func saToken(t *testing.T, ctx context.Context, c client.Client, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fleet"}}
	if err := c.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	tr := &authv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return tr.Status.Token
}
