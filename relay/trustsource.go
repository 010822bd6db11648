package relay

import (
	"context"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// TrustSource feeds the relay's trust bundle from somewhere other than a
// file: relay/kubetrust merges every namespace's operator-managed
// hsfleet-trust ConfigMap read through the Kubernetes API
// (docs/relay-auth.md, "Bundles from the API").
type TrustSource interface {
	// Watch runs until ctx ends and calls update with every new merged
	// bundle, and with each failed reload (Err set; the previous bundle
	// stays). Calls to update are serialised.
	Watch(ctx context.Context, update func(TrustUpdate))
	// Synced reports whether the source has delivered its first complete
	// view; the relay is not ready (/readyz) before.
	Synced() bool
}

// TrustUpdate is one merged bundle from a TrustSource.
type TrustUpdate struct {
	Keys  trust.Bundle
	Caps  trust.Caps
	Extra trust.ExtraKeys
	// Conflicts is how many agent IDs were left out because two sources
	// listed them with different keys.
	Conflicts int
	// Err, when set, reports a failed reload; the other fields are unset.
	Err error
}

// trustUpdated applies a TrustSource update: swap the bundle, then close
// the connections whose proven key it no longer lists.
func (s *Server) trustUpdated(u TrustUpdate) {
	if u.Err != nil {
		s.metrics.bundleReloadErrors.Inc()
		return
	}
	s.trust.SetBundleKeys(u.Keys, u.Caps, u.Extra)
	s.metrics.bundleConflicts.Set(float64(u.Conflicts))
	s.revalidate()
}

// trustSynced reports whether the configured trust source (if any) has
// delivered its first view.
func (s *Server) trustSynced() bool {
	return s.cfg.TrustSource == nil || s.cfg.TrustSource.Synced()
}
