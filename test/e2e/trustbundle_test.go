//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bundleEntry is one agent's trust bundle entry: a plain key string, or
// during a rotation the object form {"key": active, "keys": [other
// accepted keys]} (docs/rotation.md).
type bundleEntry struct {
	Key    string
	Keys   []string
	Object bool
}

// accepts lists every key the entry accepts, the active one first.
func (e bundleEntry) accepts() []string { return append([]string{e.Key}, e.Keys...) }

func (e *bundleEntry) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &e.Key); err == nil {
		return nil
	}
	var obj struct {
		Key  string   `json:"key"`
		Keys []string `json:"keys"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("entry is neither a key string nor {key, keys}: %s", b)
	}
	*e = bundleEntry{Key: obj.Key, Keys: obj.Keys, Object: true}
	return nil
}

// trustBundle reads the namespace trust bundle: agent ID -> entry.
func trustBundle(ctx context.Context, c *cluster) (map[string]bundleEntry, error) {
	cm, err := c.core.CoreV1().ConfigMaps(c.ns).Get(ctx, "hsfleet-trust", metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("trust bundle ConfigMap: %w", err)
	}
	out := map[string]bundleEntry{}
	if err := json.Unmarshal([]byte(cm.Data["trust-bundle.json"]), &out); err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	return out, nil
}
