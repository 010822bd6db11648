package controllers

import "time"

// RotationConfig times a key rotation with overlap (docs/rotation.md).
type RotationConfig struct {
	// PropagationDelay is how long the trust bundle lists both the old
	// and the new key before the agent pod switches to the new one. It
	// must cover the kubelet's refresh of the mounted ConfigMap (its sync
	// period, 1 min by default, plus its ConfigMap cache TTL) and the
	// agents' and relays' poll of the file (trust.DefaultWatchInterval,
	// 5 s). A peer that has not seen the new key by then rejects the new
	// pod's handshakes until it does.
	PropagationDelay time.Duration
	// RetireGrace is how long the old key stays in the bundle after the
	// pod with the new keys is ready, for messages the old pod signed that
	// are still in flight.
	RetireGrace time.Duration
}

// Rotation defaults: 60 s kubelet sync + up to 10 s of ConfigMap cache
// TTL + 5 s agent poll, rounded up with margin.
const (
	DefaultRotationPropagationDelay = 90 * time.Second
	DefaultRotationRetireGrace      = 30 * time.Second
)

func (c RotationConfig) withDefaults() RotationConfig {
	if c.PropagationDelay <= 0 {
		c.PropagationDelay = DefaultRotationPropagationDelay
	}
	if c.RetireGrace <= 0 {
		c.RetireGrace = DefaultRotationRetireGrace
	}
	return c
}

// rotationConfig is the operator's --rotation-propagation-delay and
// --rotation-retire-grace, defaulted.
func (r *HSAgentReconciler) rotationConfig() RotationConfig { return r.Config.Rotation.withDefaults() }

// clock is the reconciler's time source.
func (r *HSAgentReconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}
