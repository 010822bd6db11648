package mesh

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"
)

//go:embed page.html
var pageHTML string

//go:embed page.js
var pageJS string

// numbersUpTo: fleets up to this size show cycle counts inside the cells
// (page.js uses the same number).
const numbersUpTo = 20

var pageTmpl = template.Must(template.New("mesh").Funcs(template.FuncMap{
	"class": cellClass,
	"bg":    cellBackground,
	"ready": readyText,
	"title": cellTitle,
}).Parse(pageHTML))

type stalledRow struct {
	Initiator, Responder string
	Status               Status
	Cycles               int64
	Age                  string
}

type pageData struct {
	View       *View
	StaleAfter time.Duration
	At         string
	Numbers    bool
	Stalled    []stalledRow
	Nonce      string
	Script     template.JS
}

// RenderPage writes the whole page for v; nonce must match the response's
// Content-Security-Policy script-src.
func RenderPage(w io.Writer, v *View, nonce string) error {
	d := pageData{View: v, StaleAfter: v.Window(), At: v.At.UTC().Format(time.RFC3339),
		Numbers: len(v.Agents) <= numbersUpTo, Nonce: nonce, Script: template.JS(pageJS)}
	for _, p := range v.Worst {
		c := v.Cell(p)
		if c.Status == StatusOK || len(d.Stalled) == 50 {
			break // Worst puts every stalled pair first
		}
		d.Stalled = append(d.Stalled, stalledRow{Initiator: v.Agents[p.Initiator].Name,
			Responder: v.Agents[p.Responder].Name, Status: c.Status, Cycles: c.Cycles, Age: FormatAge(c.AgeSec)})
	}
	return pageTmpl.Execute(w, d)
}

// newNonce is a fresh CSP nonce per response.
func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.StdEncoding.EncodeToString(b)
}

func cellClass(c *Cell) string {
	if c.Status != StatusOK {
		return string(c.Status)
	}
	if c.Verified {
		return "ok"
	}
	return "ok weak"
}

// cellBackground shades ok cells from green (fresh) to olive (near the
// stale window); stale and never cells get their colour from CSS.
func cellBackground(c *Cell, staleAfter float64) template.CSS {
	if c.Status != StatusOK {
		return ""
	}
	f := 0.0
	if staleAfter > 0 {
		f = math.Min(c.AgeSec/staleAfter, 1)
	}
	return template.CSS(fmt.Sprintf("hsl(%d,60%%,40%%)", int(math.Round(120-60*f))))
}

func readyText(a AgentView) string {
	switch {
	case a.Ready == nil:
		return "?"
	case *a.Ready:
		return "yes"
	}
	return "no"
}

func cellTitle(d pageData, i, r int, c *Cell) string {
	verified, sealed := "not verified", "not sealed"
	if c.Verified {
		verified = "verified"
	}
	if c.Secure {
		sealed = "sealed"
	}
	return fmt.Sprintf("%s -> %s: %s, %d cycles, last %s ago, last cycle %s, %s", d.View.Agents[i].Name, d.View.Agents[r].Name,
		c.Status, c.Cycles, FormatAge(c.AgeSec), verified, sealed)
}
