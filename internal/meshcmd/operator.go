package meshcmd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/hsfleet/hsfleet/internal/mesh"
)

// maxOperatorBody bounds the JSON read from --operator (64 agents are
// ~0.5 MB).
const maxOperatorBody = 64 << 20

// readOperator fetches the view the operator serves next to /metrics
// (mesh.json under --operator). The answer is untrusted: size-limited and
// checked before it is rendered.
func readOperator(ctx context.Context, c Config) (*mesh.View, error) {
	url := c.Operator
	if !strings.HasSuffix(url, ".json") {
		url = strings.TrimSuffix(url, "/") + "/mesh.json"
		if !strings.HasSuffix(strings.TrimSuffix(c.Operator, "/"), "/mesh") {
			url = strings.TrimSuffix(c.Operator, "/") + "/mesh/mesh.json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("--operator %q: %w", c.Operator, err)
	}
	if c.TokenFile != "" {
		tok, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.InsecureTLS { // the operator's metrics certificate is self-signed unless one is mounted
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOperatorBody+1))
	if err != nil {
		return nil, fmt.Errorf("operator: read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("operator: %s: %s: %.200s", url, resp.Status, body)
	}
	if len(body) > maxOperatorBody {
		return nil, fmt.Errorf("operator: %s: answer larger than %d bytes", url, maxOperatorBody)
	}
	var v mesh.View
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("operator: %s: %w", url, err)
	}
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("operator: %s: %w", url, err)
	}
	return &v, nil
}
