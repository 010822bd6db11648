package main

import (
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
)

// metricsAuthFilter is controller-runtime's metrics filter: a request needs a
// bearer token the API server authenticates (TokenReview) and authorizes to
// GET the path (SubjectAccessReview). No token: 401; authenticated but not
// authorized: 403. Decisions are cached (authn 1 min, allow 5 min, deny
// 30 s) and failed reviews retried with backoff before answering 500. A
// token the API server rejects is also answered 500 (its TokenReview
// carries status.error), is reviewed again on every request (errors are not
// cached) and logged at error level.
var metricsAuthFilter = filters.WithAuthenticationAndAuthorization
