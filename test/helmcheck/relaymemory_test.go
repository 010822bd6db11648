package helmcheck

import (
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Sizing constants of charts/hsfleet/templates/_relay-memory.tpl.
const (
	queueFloor      = 2 * 64 << 10 // two of the relay's longest lines
	queueCeiling    = 4 << 20      // the relay's own default
	pendingBytes    = 32 << 20     // relay.cluster.pendingBytes default
	defaultMaxConns = 2000
)

// relayQueueBytes renders the chart with the given --set values and returns
// the relay's --queue-bytes ("" when absent) and its GOMEMLIMIT env entry.
func relayQueueBytes(t *testing.T, set ...string) (string, map[string]any) {
	t.Helper()
	var extra []string
	for _, s := range set {
		extra = append(extra, "--set", s)
	}
	sts, pod := relayPod(t, decodeObjects(t, renderChart(t, releaseNS, extra...)))
	q, _ := argValue(containerArgs(t, sts, "relay"), "--queue-bytes")
	c := pod["containers"].([]any)[0].(map[string]any)
	env, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range env {
		if m := e.(map[string]any); m["name"] == "GOMEMLIMIT" {
			return q, m
		}
	}
	return q, nil
}

// TestRelayQueueSizedToTheMemoryLimit: by default the per-client queue is
// half the 1Gi limit minus the 32 MiB route buffer, shared by 2000 clients,
// so 2000 slow readers cannot hold more than the budget; GOMEMLIMIT is 90%
// of the limit, and backpressure starts at half the smallest allowed queue.
func TestRelayQueueSizedToTheMemoryLimit(t *testing.T) {
	q, gml := relayQueueBytes(t)
	want := (1<<30/2 - pendingBytes) / defaultMaxConns
	if q != strconv.Itoa(want) {
		t.Errorf("--queue-bytes = %q, want %d", q, want)
	}
	if want*defaultMaxConns+pendingBytes > 1<<30/2 {
		t.Errorf("queues (%d × %d) + route buffer exceed half the limit", want, defaultMaxConns)
	}
	if gml == nil || gml["value"] != strconv.Itoa(1<<30*9/10) {
		t.Errorf("GOMEMLIMIT = %v, want value %d (90%% of 1Gi)", gml, 1<<30*9/10)
	}
	sts, _ := relayPod(t, decodeObjects(t, renderChart(t, releaseNS)))
	if v, _ := argValue(containerArgs(t, sts, "relay"), "--stall-bytes"); v != strconv.Itoa(queueFloor/2) {
		t.Errorf("--stall-bytes = %q, want %d", v, queueFloor/2)
	}
}

// TestRelayMemoryQuantities: every quantity form the chart accepts sizes the
// queue to the bytes it means (single replica: no route buffer), capped at
// the relay's 4 MiB default.
func TestRelayMemoryQuantities(t *testing.T) {
	cases := []struct {
		limit string
		conns int
		want  int
	}{
		{"1Gi", 2000, (1 << 30 / 2) / 2000},
		{"1024Mi", 1000, (1 << 30 / 2) / 1000},
		{"1048576Ki", 2000, (1 << 30 / 2) / 2000},
		{"1Ti", 1000000, (1 << 40 / 2) / 1000000},
		{"1000M", 1000, 500_000_000 / 1000},
		{"2G", 2000, 1_000_000_000 / 2000},
		{"500000k", 1000, 250_000_000 / 1000},
		{"1T", 1000000, 500_000_000_000 / 1000000},
		{"1073741824", 2000, (1 << 30 / 2) / 2000},
		{"64Gi", 100, queueCeiling},
	}
	for _, tc := range cases {
		t.Run(tc.limit, func(t *testing.T) {
			q, gml := relayQueueBytes(t, "relay.replicas=1", "relay.maxConnections="+strconv.Itoa(tc.conns),
				"relay.resources.limits.memory="+tc.limit)
			if q != strconv.Itoa(tc.want) {
				t.Errorf("limit %s, %d connections: --queue-bytes = %q, want %d", tc.limit, tc.conns, q, tc.want)
			}
			if gml == nil || gml["value"] == nil {
				t.Errorf("GOMEMLIMIT = %v, want a value", gml)
			}
		})
	}
}

// TestRelayMemoryTooSmallFailsTheRender: a limit that leaves under two lines
// per client, an unparsable limit, an override below the floor or past the
// budget, and an unbounded connection count all fail with a message that
// says what to change.
func TestRelayMemoryTooSmallFailsTheRender(t *testing.T) {
	cases := []struct {
		set     []string
		mention string
	}{
		{[]string{"relay.resources.limits.memory=64Mi"}, "raise relay.resources.limits.memory or lower relay.maxConnections"},
		{[]string{"relay.resources.limits.memory=512Mi"}, "raise relay.resources.limits.memory or lower relay.maxConnections"},
		{[]string{"relay.resources.limits.memory=1.5Gi"}, "not a memory quantity"},
		{[]string{"relay.resources.limits.memory=100m"}, "not a memory quantity"},
		{[]string{"relay.resources.limits.memory=1Pi"}, "not a memory quantity"},
		// Not Kubernetes quantities at all: the values schema refuses them.
		{[]string{"relay.resources.limits.memory=256MB"}, "at '/relay/resources/limits/memory'"},
		{[]string{"relay.resources.limits.memory=500000K"}, "at '/relay/resources/limits/memory'"},
		{[]string{"relay.resources.limits.memory=lots"}, "at '/relay/resources/limits/memory'"},
		{[]string{"relay.resources.limits.memory=99999999999999Ti"}, "not a memory quantity"},
		{[]string{"relay.queueBytes=65536"}, "below 131072"},
		{[]string{"relay.queueBytes=4194304"}, "raise relay.resources.limits.memory or lower relay.maxConnections or relay.queueBytes"},
		{[]string{"relay.maxConnections=0"}, "set relay.maxConnections"},
		{[]string{"relay.resources=null", "relay.maxConnections=0"}, "relay.maxConnections must be set"},
	}
	for _, tc := range cases {
		args := []string{"template", "hsfleet", "charts/hsfleet", "--kube-version", kubeVersion}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, errOut, err := helm(t, args...)
		if err == nil || !strings.Contains(errOut, tc.mention) {
			t.Errorf("helm template with %v: err %v, want a failure naming %q:\n%s", tc.set, err, tc.mention, errOut)
		}
	}
}

// TestRelayQueueOverrideAndNoLimit: an explicit relay.queueBytes that fits
// renders as given; a 512Mi limit fits when connections are lowered; with no
// memory limit the relay keeps its default queue and GOMEMLIMIT comes from
// the container's limit by fieldRef (a LimitRange default, else the node's
// allocatable memory).
func TestRelayQueueOverrideAndNoLimit(t *testing.T) {
	if q, _ := relayQueueBytes(t, "relay.queueBytes=200000"); q != "200000" {
		t.Errorf("override: --queue-bytes = %q, want 200000", q)
	}
	if q, _ := relayQueueBytes(t, "relay.resources.limits.memory=512Mi", "relay.maxConnections=1000"); q != strconv.Itoa((256<<20-pendingBytes)/1000) {
		t.Errorf("512Mi, 1000 connections: --queue-bytes = %q, want %d", q, (256<<20-pendingBytes)/1000)
	}
	q, gml := relayQueueBytes(t, "relay.resources=null")
	if q != "" {
		t.Errorf("no memory limit: --queue-bytes = %q, want the relay default (no flag)", q)
	}
	if p, _, _ := unstructured.NestedString(gml, "valueFrom", "resourceFieldRef", "resource"); p != "limits.memory" {
		t.Errorf("no memory limit: GOMEMLIMIT = %v, want resourceFieldRef limits.memory", gml)
	}
	if q, _ := relayQueueBytes(t, "relay.resources=null", "relay.queueBytes=262144"); q != "262144" {
		t.Errorf("no memory limit, override: --queue-bytes = %q, want 262144", q)
	}
}
