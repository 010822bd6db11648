package adversary

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/wire"
	"github.com/hsfleet/hsfleet/relay"
)

// seen is one genuine line an honest agent sent, as the attacker saw it.
type seen struct {
	at                                 time.Time
	intent, from, to                   string
	yourNonce, myNonce, yourRef, myRef string
	payload                            wire.Payload
}

// attacker is a relay client holding no keys. It sees every line the honest
// agents send (the relay broadcasts them) and forges lines with any from
// and to. It sends over the same connection it reads, and the relay never
// echoes a line to its sender, so everything it records is genuine.
type attacker struct {
	t      *testing.T
	client *relay.Client
	cancel context.CancelFunc
	done   chan struct{}
	lost   atomic.Int64 // disconnects: lines may have been missed

	mu     sync.Mutex
	honest map[string]bool
	marks  [][]byte
	lines  []seen
	react  func(seen)

	sent, sendFailed atomic.Int64
}

func newAttacker(t *testing.T, addr string) *attacker {
	t.Helper()
	a := &attacker{t: t, honest: map[string]bool{}}
	connected := make(chan struct{})
	var once sync.Once
	a.client = relay.NewClient(relay.ClientConfig{Addr: addr, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), SendQueue: 1 << 16,
		RecvQueue: 1 << 14,
		OnConnect: func() { once.Do(func() { close(connected) }) },
		OnDisconnect: func(err error) {
			if err != nil {
				a.lost.Add(1)
			}
		}})
	a.cancel, a.done = goAll(func(ctx context.Context) { a.client.Run(ctx) }, a.read)
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("attacker could not connect to the relay")
	}
	return a
}

func (a *attacker) stop() {
	a.cancel()
	<-a.done
}

// setHonest names the agents whose lines the attacker records.
func (a *attacker) setHonest(ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.marks = a.marks[:0]
	for _, id := range ids {
		a.honest[id] = true
		a.marks = append(a.marks, []byte(id))
	}
}

// onLine installs the attack: f runs on the reader goroutine for every
// genuine line, right after it is recorded (nil: observe only).
func (a *attacker) onLine(f func(seen)) {
	a.mu.Lock()
	a.react = f
	a.mu.Unlock()
}

func (a *attacker) read(ctx context.Context) {
	lim := wire.Limits{MaxLine: 1 << 20}
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-a.client.Lines():
			if !ok {
				return
			}
			if !a.mentionsHonest(line) {
				continue // flood traffic from other attacker connections
			}
			in, err := wire.Decode(line, lim)
			if err != nil || in.Kind != wire.KindMessage {
				continue
			}
			s := seen{at: time.Now(), payload: in.Payload}
			s.intent, _ = in.Payload["intent"].(string)
			s.from, _ = in.Payload["from"].(string)
			s.to, _ = in.Payload["to"].(string)
			s.yourNonce, _ = in.Payload["your_nonce"].(string)
			s.myNonce, _ = in.Payload["my_nonce"].(string)
			s.yourRef, _ = in.Payload["your_ref"].(string)
			s.myRef, _ = in.Payload["my_ref"].(string)
			a.mu.Lock()
			if !a.honest[s.from] {
				a.mu.Unlock()
				continue
			}
			a.lines = append(a.lines, s)
			react := a.react
			a.mu.Unlock()
			if react != nil {
				react(s)
			}
		}
	}
}

func (a *attacker) mentionsHonest(line []byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.marks {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

// send forges one line.
func (a *attacker) send(p wire.Payload) {
	line, err := wire.Encode(p)
	if err != nil {
		a.t.Errorf("encode forged line: %v", err)
		return
	}
	if err := a.client.Send(line); err != nil {
		a.sendFailed.Add(1)
		return
	}
	a.sent.Add(1)
}

// recorded returns the genuine lines seen so far.
func (a *attacker) recorded() []seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seen(nil), a.lines...)
}
