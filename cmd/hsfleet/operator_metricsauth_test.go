package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reviewTable answers TokenReviews and SubjectAccessReviews from fixed data
// and counts the calls.
type reviewTable struct {
	users   map[string]string // token -> user
	allowed map[string]bool   // user -> may GET /metrics
	calls   int
	fail    bool
}

func (r *reviewTable) Create(_ context.Context, tr *authnv1.TokenReview, _ metav1.CreateOptions) (*authnv1.TokenReview, error) {
	r.calls++
	if r.fail {
		return nil, errors.New("apiserver down")
	}
	out := tr.DeepCopy()
	if u, ok := r.users[tr.Spec.Token]; ok {
		out.Status.Authenticated = true
		out.Status.User.Username = u
	}
	return out, nil
}

type accessTable struct{ t *reviewTable }

func (a accessTable) Create(_ context.Context, sar *authzv1.SubjectAccessReview, _ metav1.CreateOptions) (*authzv1.SubjectAccessReview, error) {
	out := sar.DeepCopy()
	attrs := sar.Spec.NonResourceAttributes
	out.Status.Allowed = a.t.allowed[sar.Spec.User] && attrs != nil && attrs.Path == "/metrics" && attrs.Verb == "get"
	return out, nil
}

func TestMetricsAuthFilter(t *testing.T) {
	table := &reviewTable{users: map[string]string{"good": "prometheus", "nosy": "intern"}, allowed: map[string]bool{"prometheus": true}}
	a := &metricsAuthorizer{tokens: table, access: accessTable{table}, cache: map[[32]byte]authDecision{}, now: time.Now}
	h, err := a.filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) }))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no token is unauthorized", "", http.StatusUnauthorized},
		{"unknown token is forbidden", "Bearer who", http.StatusForbidden},
		{"authenticated user without RBAC is forbidden", "Bearer nosy", http.StatusForbidden},
		{"authorized scraper gets metrics", "Bearer good", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}

	// Decisions are cached: a second scrape makes no API call, and an API
	// outage after the decision does not break scraping.
	calls := table.calls
	table.fail = true
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer good")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || table.calls != calls {
		t.Fatalf("cached decision: status %d, calls %d -> %d", rec.Code, calls, table.calls)
	}
	// An uncached token during the outage is a server error, not a grant.
	req.Header.Set("Authorization", "Bearer fresh")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("review failure: status %d, want 500", rec.Code)
	}
}

func TestSplitList(t *testing.T) {
	got := splitList(" a, b,,c ,")
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("splitList = %q", got)
	}
	if splitList("") != nil {
		t.Fatal("empty list must be nil (all namespaces)")
	}
}
