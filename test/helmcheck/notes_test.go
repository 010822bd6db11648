package helmcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigFor writes a kubeconfig for the envtest API server, so helm can
// talk to it.
func kubeconfigFor(t *testing.T, s *apiServer) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: s.cfg.Host, CertificateAuthorityData: s.cfg.CAData}
	cfg.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: s.cfg.CertData, ClientKeyData: s.cfg.KeyData, Token: s.cfg.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	cfg.CurrentContext = "envtest"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotesTellHowToUseTheRelease renders NOTES.txt with `helm install
// --dry-run=server` against envtest's kube-apiserver (helm checks
// kubeVersion against it) and checks the commands a person copies.
func TestNotesTellHowToUseTheRelease(t *testing.T) {
	helmBinary(t)
	s := startAPIServer(t)
	if err := s.ensureNamespace(context.Background(), releaseNS); err != nil {
		t.Fatal(err)
	}
	kubeconfig := kubeconfigFor(t, s)
	notes := func(extra ...string) string {
		args := append([]string{"install", "notes", "charts/hsfleet", "--namespace", releaseNS, "--dry-run=server", "--kubeconfig", kubeconfig}, extra...)
		out, errOut, err := helm(t, args...)
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		_, n, ok := strings.Cut(out, "NOTES:\n")
		if !ok {
			t.Fatalf("no NOTES in:\n%s", out)
		}
		return n
	}
	n := notes("--set", "database.dsn=postgres://u:p@db:5432/h", "--set", "crds.enabled=false")
	for _, want := range []string{
		"kubectl -n hsfleet-system wait --for=condition=Ready hsa --all",
		"rollout status statefulset/notes-hsfleet-relay",
		"2 replica(s) sharing one broadcast domain",
		"Image    : ghcr.io/hsfleet/hsfleet:" + chartAppVersion(t),
		"crds.enabled=false",
		"kubectl delete hsa --all -A --wait",
	} {
		if !strings.Contains(n, want) {
			t.Errorf("NOTES lack %q:\n%s", want, n)
		}
	}
	if strings.Contains(n, "WARNING") || strings.Contains(n, "https://") {
		t.Errorf("NOTES with a database warn or point at a URL:\n%s", n)
	}
	n = notes("--set", "crds.enabled=false", "--set", "agentNamespaces={team-a}", "--set", "relay.replicas=1")
	for _, want := range []string{"WARNING: no database configured", "kubectl -n team-a apply -f -", "1 replica(s))"} {
		if !strings.Contains(n, want) {
			t.Errorf("NOTES lack %q:\n%s", want, n)
		}
	}
	_ = os.Remove(kubeconfig)
}
