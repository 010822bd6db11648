package controllers

import (
	"maps"
	"sync"
)

// bundleMemo keeps the last parsed trust bundle per namespace by the
// ConfigMap's resourceVersion. Every reconcile checks the agent's own entry
// in the bundle, and at 1,000 agents parsing and validating all entries on
// each one was 27% of the operator's CPU in the fleet benchmark.
type bundleMemo struct {
	mu sync.Mutex
	m  map[string]memoBundle // by namespace
}

type memoBundle struct {
	resourceVersion string
	bundle          trustBundle
}

// parse is parseTrustBundle, from the memo when the ConfigMap is unchanged.
// The caller owns the returned bundle (a copy). Only clean bundles are
// kept: a bundle with errors or dropped entries is repaired by its caller
// and written, which changes the resourceVersion anyway.
func (b *bundleMemo) parse(namespace, resourceVersion, data string) (trustBundle, int, error) {
	if resourceVersion != "" {
		b.mu.Lock()
		e, ok := b.m[namespace]
		b.mu.Unlock()
		if ok && e.resourceVersion == resourceVersion {
			return maps.Clone(e.bundle), 0, nil
		}
	}
	bundle, dropped, err := parseTrustBundle(data)
	if err == nil && dropped == 0 && resourceVersion != "" {
		b.mu.Lock()
		if b.m == nil {
			b.m = map[string]memoBundle{}
		}
		b.m[namespace] = memoBundle{resourceVersion: resourceVersion, bundle: maps.Clone(bundle)}
		b.mu.Unlock()
	}
	return bundle, dropped, err
}
