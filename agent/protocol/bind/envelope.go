package bind

import (
	"fmt"
	"time"

	"github.com/hsfleet/hsfleet/agent/crypto"
)

// EnvelopeFresh checks the `ts` of a received sec object (plan §2.4: for
// binding peers the envelope ts must be within crypto.HandshakeTTL of now,
// either way). Call it after crypto.OpenSec succeeded: the signature
// covers ts, so only the sender can have set it. Anything else is
// ErrEnvelopeTS.
func EnvelopeFresh(sec any, now time.Time) error {
	outer, _ := sec.(map[string]any)
	env, _ := outer["envelope"].(map[string]any)
	s, ok := env["ts"].(string)
	if !ok {
		return fmt.Errorf("%w: ts missing", ErrEnvelopeTS)
	}
	ts, err := crypto.ParseTimestamp(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEnvelopeTS, err)
	}
	if d := now.Sub(ts); d > crypto.HandshakeTTL || d < -crypto.HandshakeTTL {
		return fmt.Errorf("%w: %s from our clock", ErrEnvelopeTS, d.Truncate(time.Second))
	}
	return nil
}
