package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The metrics endpoint admits a bearer token only when the API server says
// it authenticates (TokenReview) and may GET the path
// (SubjectAccessReview), the same contract as controller-runtime's
// filters.WithAuthenticationAndAuthorization, without pulling k8s.io/apiserver
// into the binary.
const (
	metricsAuthAllowTTL = time.Minute
	metricsAuthDenyTTL  = 10 * time.Second
	metricsAuthTimeout  = 10 * time.Second
	metricsAuthMaxCache = 1024
)

// tokenReviewer and accessReviewer are the two API calls the filter makes.
type tokenReviewer interface {
	Create(ctx context.Context, r *authnv1.TokenReview, o metav1.CreateOptions) (*authnv1.TokenReview, error)
}
type accessReviewer interface {
	Create(ctx context.Context, r *authzv1.SubjectAccessReview, o metav1.CreateOptions) (*authzv1.SubjectAccessReview, error)
}

func metricsAuthFilter(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("authentication client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("authorization client: %w", err)
	}
	a := &metricsAuthorizer{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(), cache: map[[32]byte]authDecision{}, now: time.Now}
	return a.filter, nil
}

type authDecision struct {
	allowed bool
	until   time.Time
}

type metricsAuthorizer struct {
	tokens tokenReviewer
	access accessReviewer
	now    func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]authDecision
}

func (a *metricsAuthorizer) filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		allowed, err := a.allowed(req.Context(), token, strings.ToLower(req.Method), req.URL.Path)
		if err != nil {
			log.Error(err, "metrics authorization failed")
			http.Error(w, "Authorization failed", http.StatusInternalServerError)
			return
		}
		if !allowed {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	}), nil
}

func (a *metricsAuthorizer) allowed(ctx context.Context, token, verb, path string) (bool, error) {
	key := sha256.Sum256([]byte(verb + " " + path + " " + token))
	now := a.now()
	a.mu.Lock()
	if d, ok := a.cache[key]; ok && now.Before(d.until) {
		a.mu.Unlock()
		return d.allowed, nil
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, metricsAuthTimeout)
	defer cancel()
	allowed, err := a.review(ctx, token, verb, path)
	if err != nil {
		return false, err
	}
	ttl := metricsAuthDenyTTL
	if allowed {
		ttl = metricsAuthAllowTTL
	}
	a.mu.Lock()
	if len(a.cache) >= metricsAuthMaxCache {
		clear(a.cache) // bounded memory; the next scrapes simply re-review
	}
	a.cache[key] = authDecision{allowed: allowed, until: now.Add(ttl)}
	a.mu.Unlock()
	return allowed, nil
}

func (a *metricsAuthorizer) review(ctx context.Context, token, verb, path string) (bool, error) {
	tr, err := a.tokens.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("token review: %w", err)
	}
	if !tr.Status.Authenticated {
		return false, nil
	}
	u := tr.Status.User
	extra := make(map[string]authzv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.access.Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:                  u.Username,
		UID:                   u.UID,
		Groups:                u.Groups,
		Extra:                 extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review: %w", err)
	}
	return sar.Status.Allowed, nil
}
