package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/hsfleet/hsfleet/agent/trust"
)

// agentIdentity is what `hsfleet identity new --json` prints that we need.
type agentIdentity struct {
	Name          string `json:"name"`
	AgentID       string `json:"agentID"`
	SignPublicKey string `json:"signPublicKey"`
	File          string `json:"file"`
}

// createIdentities runs `hsfleet identity new` for every agent (a few at a
// time: each is one scrypt) and writes the fleet's trust bundle, every
// entry with caps (the object form) when caps are given.
func createIdentities(ctx context.Context, bin, dir string, n, workers int, caps []string) ([]agentIdentity, string, error) {
	ids := make([]agentIdentity, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids[i], errs[i] = newIdentity(ctx, bin, dir, agentName(i))
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	bundle := make(map[string]string, n)
	for i, err := range errs {
		if err != nil {
			return nil, "", err
		}
		bundle[ids[i].AgentID] = ids[i].SignPublicKey
	}
	if len(bundle) != n {
		return nil, "", fmt.Errorf("identities: %d distinct agent IDs for %d agents", len(bundle), n)
	}
	data, err := bundleJSON(bundle, caps)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "trust-bundle.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, "", err
	}
	return ids, path, nil
}

// bundleJSON renders agent ID → base64 key, in the string form without
// caps, else in the object form with the caps, checked by the agents' own
// parser.
func bundleJSON(keys map[string]string, caps []string) ([]byte, error) {
	if len(caps) == 0 {
		return json.Marshal(keys)
	}
	entries := make(map[string]any, len(keys))
	for id, key := range keys {
		entries[id] = map[string]any{"key": key, "caps": caps}
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	if _, _, err := trust.ParseBundleCaps(data); err != nil {
		return nil, err
	}
	return data, nil
}

func agentName(i int) string { return fmt.Sprintf("fb%04d", i) }

func newIdentity(ctx context.Context, bin, dir, name string) (agentIdentity, error) {
	// Short-lived and waited for here, so exec directly (no parent-death
	// signal needed: CommandContext kills it if we are interrupted).
	out, err := exec.CommandContext(ctx, bin, "identity", "new", "--name", name, "--out", dir, "--json").Output()
	if err != nil {
		return agentIdentity{}, fmt.Errorf("identity new %s: %w", name, err)
	}
	var id agentIdentity
	if err := json.Unmarshal(out, &id); err != nil || id.AgentID == "" || id.SignPublicKey == "" || id.File == "" {
		return agentIdentity{}, fmt.Errorf("identity new %s: unexpected output %.200q", name, out)
	}
	return id, nil
}
