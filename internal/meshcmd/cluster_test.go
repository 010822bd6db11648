package meshcmd

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/internal/mesh"
	"github.com/hsfleet/hsfleet/internal/mesh/meshtest"
	"github.com/hsfleet/hsfleet/internal/meshop"
)

// The cluster and operator sources against a real API server: HSAgent
// status read through a kubeconfig, and the operator's page handler behind
// a bearer token.
func TestMeshFromClusterAndOperator(t *testing.T) {
	c, kubeconfig := meshtest.StartAPIServer(t, filepath.Join("..", ".."))
	now := time.Now().UTC().Truncate(time.Second)
	meshtest.Seed(t, c, now)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := Config{Kubeconfig: kc, Namespace: "fleet", StaleAfter: 5 * time.Minute, Worst: 3, Color: "never", Now: func() time.Time { return now }}
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mesh: 3 agents, 6 pairs, 5 stalled (no cycle within 5m0s)", "not ready: carol", "bob              alice             stale"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cluster output lacks %q:\n%s", want, out.String())
		}
	}

	const token = "s3cret"
	page := mesh.Handler(meshop.Source(c, 5*time.Minute), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle("/mesh/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token { // stands in for the metrics auth filter
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		page.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	op := Config{Operator: srv.URL + "/mesh/", StaleAfter: time.Minute, Worst: 1, Color: "never"}
	if err := Run(context.Background(), op, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no token: err = %v; want 401", err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	op.TokenFile = tokenFile
	out.Reset()
	if err := Run(context.Background(), op, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "mesh: 3 agents, 6 pairs, 5 stalled (no cycle within 5m0s)") {
		t.Errorf("operator output:\n%s", out.String())
	}
	op.Operator = srv.URL // the base URL works too
	if err := Run(context.Background(), op, &bytes.Buffer{}); err != nil {
		t.Errorf("base URL: %v", err)
	}
}

func TestMeshRejectsAnInconsistentOperatorAnswer(t *testing.T) {
	for name, body := range map[string]string{
		"rows":     `{"agents":[{"name":"a"},{"name":"b"}],"cells":[]}`,
		"diagonal": `{"agents":[{"name":"a"}],"cells":[[{"cycles":1}]]}`,
		"worst":    `{"agents":[{"name":"a"},{"name":"b"}],"cells":[[null,{}],[{},null]],"worst":[{"i":0,"r":7}]}`,
		"json":     `{"agents":`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		err := Run(context.Background(), Config{Operator: srv.URL + "/mesh/mesh.json", StaleAfter: time.Minute, Color: "never"}, &bytes.Buffer{})
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error for %s", name, body)
		}
	}
}
