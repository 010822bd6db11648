package promrules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// exporters: where each metric prefix is defined. A name is exported when
// its file has it in quotes, whole or without the prefix (the Go code
// builds names from namespace, subsystem and name).
var exporters = map[string][]string{
	"hsfleet_agent_":    {"agent/engine/metrics.go"},
	"hsfleet_relay_":    {"relay/metrics.go"},
	"hsfleet_store_":    {"agent/store/metrics.go"},
	"hsfleet_operator_": {"controllers/metrics.go"},
	"hsfleet_hsagent_":  {"internal/meshop/collector.go"},
	"hsfleet_mesh_":     {"internal/meshop/collector.go", "internal/mesh/handler.go"},
}

var metricName = regexp.MustCompile(`hsfleet_[a-z_]+`)

// TestRulesAndDashboardUseExportedMetrics: a renamed metric must not leave
// an alert or a panel silently empty.
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	helm := tool(t, "helm.sh")
	rules := renderRules(t, helm)
	out := run(t, helm, "template", "hsfleet", filepath.Join("..", "..", "charts", "hsfleet"), "--kube-version", "1.37.2",
		"--set", "monitoring.grafanaDashboard.enabled=true", "--show-only", "templates/grafana-dashboard.yaml")
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(out, &cm); err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(cm.Data["hsfleet.json"]), &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var exprs []string
	titles := map[string]bool{}
	for _, p := range dash.Panels {
		titles[p.Title] = true
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, want := range []string{"Fleet cycles/s", "Stalled pairs", "Handshake failures by reason", "Relay throughput", "Relay drops by reason", "Database latency (p50, p99) and errors",
		"Database call timeouts by what ended them"} {
		if !titles[want] {
			t.Errorf("dashboard lacks the panel %q", want)
		}
	}
	names := metricName.FindAllString(string(rules)+strings.Join(exprs, "\n"), -1)
	if len(names) < 15 {
		t.Fatalf("only %d metric references found", len(names))
	}
	src := map[string]string{}
	for _, name := range names {
		name = strings.TrimSuffix(name, "_bucket")
		found := false
		for prefix, files := range exporters {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			for _, f := range files {
				if _, ok := src[f]; !ok {
					b, err := os.ReadFile(filepath.Join("..", "..", f))
					if err != nil {
						t.Fatal(err)
					}
					src[f] = string(b)
				}
				found = found || strings.Contains(src[f], `"`+name+`"`) || strings.Contains(src[f], `"`+strings.TrimPrefix(name, prefix)+`"`)
			}
		}
		if !found {
			t.Errorf("%s is used by the rules or the dashboard but no code exports it", name)
		}
	}
}
