package relay

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestPresenceMoveKeepsNewReplica(t *testing.T) {
	p := newPresence(time.Second)
	now := time.Now()
	id := [][]byte{[]byte("agent-1")}
	p.here([]byte("r1"), id, now)
	p.here([]byte("r2"), id, now) // the agent moved to r2 ...
	p.gone([]byte("r1"), id)      // ... and r1's goodbye arrives late
	if !p.elsewhere(id[0]) {
		t.Fatal("agent forgotten after moving: r1's late gone erased r2's here")
	}
	p.gone([]byte("r2"), id)
	if p.elsewhere(id[0]) || p.size() != 0 {
		t.Fatalf("agent still known after leaving every replica (size %d)", p.size())
	}
}

func TestPresenceExpiresSilentReplica(t *testing.T) {
	p := newPresence(time.Second)
	now := time.Now()
	p.here([]byte("dead"), [][]byte{[]byte("a")}, now)
	p.here([]byte("live"), [][]byte{[]byte("b")}, now.Add(900*time.Millisecond))
	p.sweep(now.Add(1500 * time.Millisecond))
	if p.elsewhere([]byte("a")) || !p.elsewhere([]byte("b")) {
		t.Fatalf("after sweep: a known %v (want false), b known %v (want true)", p.elsewhere([]byte("a")), p.elsewhere([]byte("b")))
	}
}

func TestPresenceBounded(t *testing.T) {
	p := newPresence(time.Second)
	p.max = 2
	ignored := 0
	p.full = func() { ignored++ }
	now := time.Now()
	p.here([]byte("r"), [][]byte{[]byte("a"), []byte("b"), []byte("c")}, now)
	if p.size() != 2 || ignored != 1 || p.elsewhere([]byte("c")) {
		t.Fatalf("size %d ignored %d, want 2 and 1 (c not stored)", p.size(), ignored)
	}
	for i := range maxPresenceReplicasID + 1 {
		p.here([]byte{'r', byte('a' + i)}, [][]byte{[]byte("a")}, now)
	}
	if n := len(p.byID["a"]); n != maxPresenceReplicasID {
		t.Fatalf("id a held by %d replicas, want the bound %d", n, maxPresenceReplicasID)
	}
}

func TestDecodePresenceRejectsMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":            nil,
		"unknown op":       []byte("x\x01r"),
		"no replica":       []byte("+\x00"),
		"replica too long": append([]byte("+\x41"), bytes.Repeat([]byte("r"), 65)...),
		"short replica":    []byte("+\x05ab"),
		"empty id":         []byte("+\x01r\x00"),
		"short id":         []byte("+\x01r\x05ab"),
		"id too long":      append([]byte("+\x01r\x81"), bytes.Repeat([]byte("i"), 129)...),
		"request with ids": []byte("?\x01r\x01a"),
	} {
		if _, _, _, err := decodePresence(b); err == nil {
			t.Errorf("%s: accepted %q", name, b)
		}
	}
}

func FuzzDecodePresence(f *testing.F) {
	f.Add(appendPresenceID(appendPresenceHeader(nil, presenceHere, "relay-1"), "agent-1"))
	f.Add(appendPresenceHeader(nil, presenceRequest, "relay-2"))
	f.Add([]byte("-\x01r\x01a\x02bc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		op, replica, ids, err := decodePresence(b)
		if err != nil {
			return
		}
		// Whatever is accepted re-encodes to the same bytes.
		out := appendPresenceHeader(nil, op, string(replica))
		for _, id := range ids {
			if len(id) == 0 || len(id) > maxRouteID {
				t.Fatalf("accepted id of length %d", len(id))
			}
			out = appendPresenceID(out, string(id))
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("decode/encode changed %q to %q", b, out)
		}
	})
}

func TestNewServerRefusesNegativePresencePeriod(t *testing.T) {
	_, err := NewServer(ServerConfig{Listen: "127.0.0.1:0", Cluster: ClusterConfig{PresencePeriod: -time.Second}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "presence period") {
		t.Fatalf("NewServer with a negative presence period: %v, want an error naming it", err)
	}
}
