package helmcheck

import (
	"strings"
	"testing"
)

// TestExistingSecretKeyReachesTheOperator: database.existingSecretKey
// names the DSN key of the user's Secret (e.g. "uri" of a CloudNativePG
// app Secret); the chart's own Secret always uses "dsn", so the flag is
// rendered only with existingSecret.
func TestExistingSecretKeyReachesTheOperator(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string // "" = flag absent
	}{
		{"existing Secret, default key", []string{"database.existingSecret=pg-app"}, "dsn"},
		{"existing Secret, CNPG key", []string{"database.existingSecret=pg-app", "database.existingSecretKey=uri"}, "uri"},
		{"chart's own Secret", []string{"database.dsn=postgres://u@h/db"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			for _, s := range tc.set {
				extra = append(extra, "--set", s)
			}
			op := mustFind(t, decodeObjects(t, renderChart(t, releaseNS, extra...)), "Deployment", releaseNS, "hsfleet-operator")
			got, ok := argValue(containerArgs(t, op, "operator"), "--default-database-secret-key")
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("--default-database-secret-key = %q (present %v), want %q", got, ok, tc.want)
			}
		})
	}
	_, errOut, err := helm(t, "template", "hsfleet", "charts/hsfleet", "--set", "database.existingSecretKey=a/b")
	if err == nil || !strings.Contains(errOut, "existingSecretKey") {
		t.Errorf("schema accepted a Secret key with a slash: %v\n%s", err, errOut)
	}
}
