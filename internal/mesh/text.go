package mesh

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// TextOptions shape RenderText's output to a terminal.
type TextOptions struct {
	Color bool // ANSI colours; callers turn it off when not a TTY or NO_COLOR is set
	Width int  // terminal columns; 0 means 100
	Worst int  // pairs in the worst list; 0 means 10, negative none
}

// GlyphThreshold is the fleet size from which the matrix is one glyph per
// pair, whatever the width.
const GlyphThreshold = 50

const maxLabel = 16

const (
	ansiReset = "\x1b[0m"
	ansiGreen = "\x1b[32m"
	ansiAmber = "\x1b[33m"
	ansiRed   = "\x1b[1;31m"
	ansiDim   = "\x1b[2m"
)

// RenderText writes the matrix (numbers when they fit, glyphs otherwise),
// the agents that are not ready and the worst pairs.
func RenderText(w io.Writer, v *View, o TextOptions) error {
	if o.Width <= 0 {
		o.Width = 100
	}
	if o.Worst == 0 {
		o.Worst = 10
	}
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "mesh: %d agents, %d pairs, %d stalled (no cycle within %s), at %s\n",
		len(v.Agents), len(v.Worst), v.Stalled, v.Window(), v.At.UTC().Format(time.RFC3339))
	if v.Truncated {
		fmt.Fprintln(b, "warning: the source capped its rows; the matrix is partial")
	}
	labels := make([]string, len(v.Agents))
	for i, a := range v.Agents {
		labels[i] = truncate(a.Name, maxLabel)
	}
	if len(v.Agents) > 0 {
		t := textRenderer{b: b, v: v, o: o, labels: labels}
		if !t.numeric() {
			t.glyphs()
		}
	}
	var notReady []string
	for _, a := range v.Agents {
		if a.Ready != nil && !*a.Ready {
			notReady = append(notReady, a.Name)
		}
	}
	if len(notReady) > 0 {
		fmt.Fprintf(b, "not ready: %s\n", strings.Join(notReady, ", "))
	}
	if o.Worst > 0 && len(v.Worst) > 0 {
		writeWorst(b, v, o)
	}
	return b.Flush()
}

type textRenderer struct {
	b      *bufio.Writer
	v      *View
	o      TextOptions
	labels []string
}

// numeric writes "cycles age flag" cells when the table fits the width.
func (t textRenderer) numeric() bool {
	n := len(t.v.Agents)
	if n >= GlyphThreshold {
		return false
	}
	text := make([][]string, n)
	lw, cw := 0, 0
	for i := range t.v.Cells {
		lw = max(lw, len(t.labels[i]))
		cw = max(cw, len(t.labels[i]))
		text[i] = make([]string, n)
		for r, c := range t.v.Cells[i] {
			if c != nil {
				text[i][r] = cellText(c)
				cw = max(cw, len(text[i][r]))
			}
		}
	}
	if lw+n*(cw+2) > t.o.Width {
		return false
	}
	fmt.Fprintln(t.b, "rows: initiator, columns: responder; cycles and age of the last cycle (! stale, ? last cycle not verified, - none)")
	fmt.Fprintf(t.b, "%-*s", lw, "")
	for _, l := range t.labels {
		fmt.Fprintf(t.b, "  %*s", cw, l)
	}
	fmt.Fprintln(t.b)
	for i := range t.v.Cells {
		fmt.Fprintf(t.b, "%-*s", lw, t.labels[i])
		for r, c := range t.v.Cells[i] {
			s := fmt.Sprintf("%*s", cw, text[i][r])
			if c != nil {
				s = t.paint(c, s)
			}
			t.b.WriteString("  " + s)
		}
		fmt.Fprintln(t.b)
	}
	return true
}

// glyphs writes one character per pair, columns numbered like the rows.
func (t textRenderer) glyphs() {
	n := len(t.v.Agents)
	digits := len(strconv.Itoa(n))
	lw := 0
	for _, l := range t.labels {
		lw = max(lw, len(l))
	}
	prefix := digits + 1 + lw + 1
	fmt.Fprintln(t.b, "rows: initiator, columns: responder (# verified cycle, + unverified cycle, ! stale, . none)")
	for d := digits - 1; d >= 0; d-- { // column numbers, one digit per line
		t.b.WriteString(strings.Repeat(" ", prefix))
		for r := 1; r <= n; r++ {
			s := strconv.Itoa(r)
			if k := len(s) - 1 - d; k >= 0 {
				t.b.WriteByte(s[k])
			} else {
				t.b.WriteByte(' ')
			}
		}
		t.b.WriteByte('\n')
	}
	for i := range t.v.Cells {
		fmt.Fprintf(t.b, "%*d %-*s ", digits, i+1, lw, t.labels[i])
		for _, c := range t.v.Cells[i] {
			if c == nil {
				t.b.WriteByte(' ')
				continue
			}
			t.b.WriteString(t.paint(c, string(glyph(c))))
		}
		t.b.WriteByte('\n')
	}
}

func (t textRenderer) paint(c *Cell, s string) string {
	if !t.o.Color {
		return s
	}
	return colour(c) + s + ansiReset
}

func colour(c *Cell) string {
	switch {
	case c.Status == StatusStale:
		return ansiRed
	case c.Status == StatusNever:
		return ansiDim
	case !c.Verified:
		return ansiAmber
	}
	return ansiGreen
}

func glyph(c *Cell) byte {
	switch {
	case c.Status == StatusStale:
		return '!'
	case c.Status == StatusNever:
		return '.'
	case !c.Verified:
		return '+'
	}
	return '#'
}

func cellText(c *Cell) string {
	if c.Status == StatusNever {
		return "-"
	}
	s := strconv.FormatInt(c.Cycles, 10) + " " + FormatAge(c.AgeSec)
	switch {
	case c.Status == StatusStale:
		s += "!"
	case !c.Verified:
		s += "?"
	}
	return s
}

func writeWorst(b *bufio.Writer, v *View, o TextOptions) {
	fmt.Fprintf(b, "worst pairs:\n  %-*s %-*s  %-6s %8s %6s  %-8s %s\n", maxLabel, "initiator", maxLabel, "responder",
		"status", "cycles", "age", "verified", "sealed")
	for _, p := range v.Worst[:min(o.Worst, len(v.Worst))] {
		c := v.Cell(p)
		line := fmt.Sprintf("  %-*s %-*s  %-6s %8d %6s  %-8s %s", maxLabel, truncate(v.Agents[p.Initiator].Name, maxLabel),
			maxLabel, truncate(v.Agents[p.Responder].Name, maxLabel), c.Status, c.Cycles, FormatAge(c.AgeSec),
			yesNo(c.Verified), yesNo(c.Secure))
		if o.Color {
			line = colour(c) + line + ansiReset
		}
		b.WriteString(line + "\n")
	}
}

// FormatAge is a compact age: 0.4s, 12s, 5m, 3h, 2d; "-" for never (<0).
func FormatAge(sec float64) string {
	switch {
	case sec < 0:
		return "-"
	case sec < 10:
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	case sec < 60:
		return strconv.Itoa(int(sec)) + "s"
	case sec < 3600:
		return strconv.Itoa(int(sec/60)) + "m"
	case sec < 86400:
		return strconv.Itoa(int(sec/3600)) + "h"
	}
	return strconv.Itoa(int(sec/86400)) + "d"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// truncate cuts s to n bytes on a rune boundary, marking the cut with "~".
func truncate(s string, n int) string {
	s = strings.Map(func(r rune) rune { // names are untrusted: no control characters reach the terminal
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n - 1
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "~"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
