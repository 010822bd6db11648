//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// parseMetrics reads the samples of the Prometheus text format, keyed by
// the series as written: "name" for an unlabelled sample,
// `name{label="value",...}` for a labelled one.
func parseMetrics(body string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// sumSeries adds the samples of metric name whose labels include every
// `label="value"` pair in labels (none: every series of the metric).
func sumSeries(m map[string]float64, name string, labels ...string) float64 {
	var sum float64
	for series, v := range m {
		rest, ok := strings.CutPrefix(series, name)
		if !ok || (rest != "" && rest[0] != '{') {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
				break
			}
		}
		if match {
			sum += v
		}
	}
	return sum
}

// agentHTTPPort is the agent container's port for probes and /metrics
// (controllers/names.go).
const agentHTTPPort = "8080"

// agentMetrics reads an agent pod's /metrics through the API server's pod
// proxy.
func (c *cluster) agentMetrics(ctx context.Context, pod string) (map[string]float64, error) {
	body, err := c.core.CoreV1().Pods(c.ns).ProxyGet("http", pod, agentHTTPPort, "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s:%s/metrics through the API server proxy: %w", pod, agentHTTPPort, err)
	}
	return parseMetrics(string(body)), nil
}
