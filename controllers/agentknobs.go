package controllers

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	hsv1 "github.com/hsfleet/hsfleet/api/v1alpha1"
)

// agentKnobs are the tuning flags of one agent: spec fields over the
// operator's defaults.
type agentKnobs struct {
	cycleInterval    time.Duration
	registerInterval time.Duration
	maxActiveCycles  int32
	databaseMaxConns int32
	resources        corev1.ResourceRequirements
}

func (r *HSAgentReconciler) knobs(agent *hsv1.HSAgent) agentKnobs {
	d := r.Config.Agent
	k := agentKnobs{
		cycleInterval:    d.CycleInterval,
		registerInterval: d.RegisterInterval,
		maxActiveCycles:  d.MaxActiveCycles,
		databaseMaxConns: d.DatabaseMaxConns,
		resources:        d.Resources,
	}
	spec := agent.Spec
	if spec.CycleInterval != nil && spec.CycleInterval.Duration >= 0 {
		k.cycleInterval = spec.CycleInterval.Duration
	}
	if spec.RegisterInterval != nil && spec.RegisterInterval.Duration > 0 {
		k.registerInterval = spec.RegisterInterval.Duration
	}
	if spec.MaxActiveCycles != nil && *spec.MaxActiveCycles > 0 {
		k.maxActiveCycles = *spec.MaxActiveCycles
	}
	if spec.DatabaseMaxConns != nil && *spec.DatabaseMaxConns > 0 {
		k.databaseMaxConns = *spec.DatabaseMaxConns
	}
	if len(spec.Pod.Resources.Limits) > 0 || len(spec.Pod.Resources.Requests) > 0 {
		k.resources = spec.Pod.Resources
	}
	return k
}

// cycleInterval is the agent's effective cycle interval.
func (r *HSAgentReconciler) cycleInterval(agent *hsv1.HSAgent) time.Duration {
	return r.knobs(agent).cycleInterval
}

// args are the knob flags of `hsfleet agent`. The cycle interval and pool
// size are always passed (0s is meaningful); the others only when set.
func (k agentKnobs) args() []string {
	out := []string{
		"--cycle-interval=" + k.cycleInterval.String(),
		"--db-max-conns=" + strconv.Itoa(int(k.databaseMaxConns)),
	}
	if k.registerInterval > 0 {
		out = append(out, "--register-interval="+k.registerInterval.String())
	}
	if k.maxActiveCycles > 0 {
		out = append(out, "--max-active-cycles="+strconv.Itoa(int(k.maxActiveCycles)))
	}
	return out
}
