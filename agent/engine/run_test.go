package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/hsfleet/hsfleet/agent/trust"
)

// A transport that closes its line channel (without the caller cancelling
// Run's context) stops the conversations too, so Run returns.
func TestRunReturnsWhenTheTransportClosesItsLines(t *testing.T) {
	st, err := store.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lines := make(chan []byte, 1)
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: st, Transport: chanTransport{lines: lines},
		Policy: trust.NewPolicy(trust.Open, nil)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background()) }()
	lines <- []byte(`{"remote_addr":"127.0.0.1:1","content":{"to":null,"intent":"register","from":"peer-b"}}`)
	for i := 0; metricValue(e.m.Conversations) != 1; i++ { // bounded: 5 s
		if i == 500 {
			t.Fatal("register started no conversation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(lines)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting for its conversations after the line channel closed")
	}
}

func TestStoreHealthFollowsTheDatabaseNotMissingRows(t *testing.T) {
	e, err := New(Config{Identity: mustIdentity(t, "a"), Store: &store.Store{}, Transport: chanTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		err     error
		healthy bool
	}{
		{"a failed call makes the store unhealthy", errors.New("connection refused"), false},
		{"a missing row is an answer: healthy", fmt.Errorf("%w: role_state x", store.ErrNotFound), true},
		{"another failure", errors.New("timeout"), false},
		{"a successful call", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.storeResult("bump_cycles", tc.err)
			if e.StoreHealthy() != tc.healthy {
				t.Fatalf("healthy %v, want %v", e.StoreHealthy(), tc.healthy)
			}
		})
	}
}
