package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// BenchmarkDemoView64 is the target on the demo's real read path:
// 64 agents, each on its own SQLite database holding its 126
// conversations; one op reads all 64 databases, builds the matrix and
// renders the page and the terminal table (target: under 1 s).
func BenchmarkDemoView64(b *testing.B) {
	const n = 64
	ctx := context.Background()
	d := &demo{logger: slog.New(slog.DiscardHandler), staleAfter: autoStaleAfter(n), names: map[string]string{},
		stopped: map[string]bool{}}
	dir := b.TempDir()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		d.names[ids[i]] = fmt.Sprintf("agent-%d", i+1)
	}
	now := time.Now()
	for i, self := range ids {
		st, err := store.OpenWithOptions(ctx, "sqlite:"+filepath.Join(dir, self+".db"), store.Options{Logger: d.logger})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		if err := st.UpsertAgent(ctx, store.Agent{SelfID: self, Name: d.names[self], StartedAt: now, LastSeenAt: now}); err != nil {
			b.Fatal(err)
		}
		for j, peer := range ids {
			if i == j {
				continue
			}
			for _, role := range []store.Role{store.Initiator, store.Responder} {
				k := store.Key{SelfID: self, Role: role, PeerID: peer}
				if _, err := st.GetOrCreate(ctx, k, "ready"); err != nil {
					b.Fatal(err)
				}
				if _, err := st.BumpCycles(ctx, k, now.Add(-time.Duration(i+j)*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
		}
		d.stores = append(d.stores, st)
	}
	b.ResetTimer()
	for b.Loop() {
		v, err := d.view(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(v.Agents) != n || v.Stalled != 0 {
			b.Fatalf("%d agents, %d stalled; want %d, 0", len(v.Agents), v.Stalled, n)
		}
		if err := mesh.RenderPage(io.Discard, v, "nonce"); err != nil {
			b.Fatal(err)
		}
		if err := mesh.RenderText(io.Discard, v, mesh.TextOptions{Color: true}); err != nil {
			b.Fatal(err)
		}
	}
}
