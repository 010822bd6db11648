package protocol

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

func TestVerifyHSRejectsAnHSOlderThanTheCycle(t *testing.T) {
	peer := mustIdentity(t, "peer")
	ours, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	peerKx, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	signedAt := now.Add(-30 * time.Second)
	nonce := crypto.NewNonce()
	raw := crypto.BuildHandshake("response", nonce, peerKx, peer.SignPriv, signedAt).Payload()
	unseen := func(context.Context, string) (bool, error) { return false, nil }
	cases := []struct {
		name      string
		notBefore time.Time
		want      error
	}{
		{"no cycle start known", time.Time{}, nil},
		{"cycle started before the hs", signedAt.Add(-time.Second), nil},
		{"cycle started in the same second", signedAt, nil},
		{"cycle started after the hs", signedAt.Add(5 * time.Second), ErrHSBeforeCycle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyHS(context.Background(), raw, "response", nonce, ours, "", peer.ID, nil, unseen, now, tc.notBefore)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("verifyHS = %v, want %v", err, tc.want)
			}
		})
	}
}
