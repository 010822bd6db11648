package mesh

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRenderTextGoldenSmall(t *testing.T) {
	var b bytes.Buffer
	if err := RenderText(&b, Build(t0, 30*time.Second, fixture()), TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	golden(t, "small.golden", b.Bytes())
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour off but the output has ANSI escapes")
	}
}

func TestRenderTextGlyphsAt50PlusAgents(t *testing.T) {
	var b bytes.Buffer
	if err := RenderText(&b, Build(t0, 30*time.Second, bigFixture(52)), TextOptions{Width: 200, Worst: 5}); err != nil {
		t.Fatal(err)
	}
	golden(t, "glyphs52.golden", b.Bytes())
	for _, line := range strings.Split(b.String(), "\n") {
		if len(line) > 100 {
			t.Errorf("line of %d columns does not fit a terminal: %q", len(line), line)
		}
	}
}

func TestRenderTextFallsBackToGlyphsWhenNarrow(t *testing.T) {
	var b bytes.Buffer
	if err := RenderText(&b, Build(t0, 30*time.Second, fixture()), TextOptions{Width: 20, Worst: -1}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# verified cycle") || strings.Contains(b.String(), "worst pairs") {
		t.Errorf("narrow output:\n%s", b.String())
	}
}

func TestRenderTextColourAndHostileNames(t *testing.T) {
	d := fixture()
	d.Agents[0].Name = "bob\x1b[2J\nevil"
	var b bytes.Buffer
	if err := RenderText(&b, Build(t0, 30*time.Second, d), TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, ansiRed) || !strings.Contains(out, ansiGreen) {
		t.Errorf("colour on but no red/green escapes:\n%q", out)
	}
	if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\nevil") {
		t.Errorf("a name's control characters reached the terminal:\n%q", out)
	}
}

func TestFormatAge(t *testing.T) {
	for sec, want := range map[float64]string{-1: "-", 0.42: "0.4s", 12.9: "12s", 125: "2m", 7300: "2h", 200000: "2d"} {
		if got := FormatAge(sec); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", sec, got, want)
		}
	}
}
