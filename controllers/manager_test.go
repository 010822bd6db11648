package controllers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(body), err
}

func TestManagerServesProbesMetricsElectsALeaderAndStaysInItsNamespaces(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)
	_, c := testEnv(t)
	ctx := context.Background()
	createHSAgent(t, newHSAgent(other, "elsewhere")) // before the operator starts

	metricsAddr, probeAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	startOperatorWith(t, ManagerOptions{
		Namespaces:                   []string{ns},
		MetricsAddr:                  metricsAddr,
		ProbeAddr:                    probeAddr,
		LeaderElect:                  true,
		LeaderElectionNamespace:      ns,
		SkipControllerNameValidation: true,
	}, testOperatorConfig())

	for _, path := range []string{"/healthz", "/readyz"} {
		eventually(t, 30*time.Second, func() error {
			code, body, err := httpGet("http://" + probeAddr + path)
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("GET %s: %d %q %v", path, code, body, err)
			}
			return nil
		})
	}

	createHSAgent(t, newHSAgent(ns, "frank"))
	waitCondition(t, ns, "frank", hsv1.ConditionIdentityReady, metav1.ConditionTrue, "")

	var lease coordinationv1.Lease
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: LeaderElectionID}, &lease); err != nil {
		t.Fatalf("leader lease: %v", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatal("leader lease has no holder")
	}

	code, body, err := httpGet("http://" + metricsAddr + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	for _, want := range []string{`hsfleet_operator_trust_bundle_writes_total{result="ok"}`, `hsfleet_operator_identity_operations_total{op="generate",result="ok"}`, `controller_runtime_reconcile_total{controller="hsagent"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// The HSAgent outside the watched namespaces was never touched.
	if a := getHSAgent(t, other, "elsewhere"); len(a.Finalizers) != 0 || len(a.Status.Conditions) != 0 {
		t.Errorf("operator reconciled an HSAgent outside its namespaces: finalizers %v, conditions %v", a.Finalizers, a.Status.Conditions)
	}
}
