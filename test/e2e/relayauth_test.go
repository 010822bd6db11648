//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
)

// checkAgentsAuthenticated: every sample agent has proven its ID to a relay
// replica (the chart mounts the namespace's trust bundle into the relay and
// agents authenticate by default), and the replicas deliver directed lines.
// The bundle reaches the relay through the kubelet's ConfigMap volume sync
// (up to about a minute after the first HSAgent): agents connected before
// that are unknown to the relay, which makes them reconnect and
// authenticate once their ID is in its bundle.
func checkAgentsAuthenticated(t *testing.T, cfg config, c *cluster) {
	t.Helper()
	eventually(t, cfg.timeout, "every agent authenticated to a relay replica", func(ctx context.Context) error {
		pods, err := c.relayPods(ctx, cfg)
		if err != nil {
			return err
		}
		sum := map[string]float64{}
		per := map[string]float64{}
		for _, p := range pods {
			m, err := c.relayMetrics(ctx, cfg, p)
			if err != nil {
				return err
			}
			for _, k := range []string{"hsfleet_relay_connections_authenticated", "hsfleet_relay_trust_bundle_agents", "hsfleet_relay_lines_directed_total"} {
				sum[k] += m[k]
			}
			per[p.Name] = m["hsfleet_relay_connections_authenticated"]
		}
		if got := sum["hsfleet_relay_connections_authenticated"]; got != float64(len(sampleNames)) {
			return fmt.Errorf("authenticated connections per replica %v (bundle agents over the replicas %v), want %d in all",
				per, sum["hsfleet_relay_trust_bundle_agents"], len(sampleNames))
		}
		if sum["hsfleet_relay_lines_directed_total"] == 0 {
			return fmt.Errorf("no line delivered by directed routing on any replica")
		}
		t.Logf("authenticated agents per relay replica: %v", per)
		return nil
	})
}

// phaseRelayAuthentication: every agent authenticated, and the fleet keeps
// cycling with directed delivery between authenticated agents.
func phaseRelayAuthentication(t *testing.T, cfg config, c *cluster) {
	checkAgentsAuthenticated(t, cfg, c)
	waitFleetCycling(t, cfg, c, sampleNames, snapshot(t, c, sampleNames))
}
