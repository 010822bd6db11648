package mesh

import (
	"io"
	"testing"
	"time"
)

// The target: with 64 agents, the page and the CLI render in under
// 1 s of server time. Each op here is one full build + render.
func BenchmarkBuildAndRender64(b *testing.B) {
	d := bigFixture(64)
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			if err := RenderPage(io.Discard, Build(t0, 30*time.Second, d), "n"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			writeJSON(discardResponse{}, 200, Build(t0, 30*time.Second, d))
		}
	})
	b.Run("cli", func(b *testing.B) {
		for b.Loop() {
			if err := RenderText(io.Discard, Build(t0, 30*time.Second, d), TextOptions{Color: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
