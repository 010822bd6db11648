package crypto

import (
	"context"
	"sync"
)

// memStore is a real in-memory NonceStore, the same contract the agent's
// PostgreSQL-backed store fulfils.
type memStore struct {
	mu      sync.Mutex
	seen    map[string]bool
	failErr error
}

func newMemStore() *memStore { return &memStore{seen: map[string]bool{}} }

func (s *memStore) Exists(_ context.Context, nonce string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return false, s.failErr
	}
	return s.seen[nonce], nil
}

func (s *memStore) Add(_ context.Context, nonce string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return s.failErr
	}
	s.seen[nonce] = true
	return nil
}
