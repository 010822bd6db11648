package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDemoMeshPageInHeadlessChromium drives the demo's mesh page in a real
// browser: it loads with no console errors, shows every agent, and the
// pairs of an agent that stops turn visibly stale. The screenshot is a test
// artefact under .artifacts/ (git-ignored).
func TestDemoMeshPageInHeadlessChromium(t *testing.T) {
	chromium := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // generous: a loaded 2-core CI machine
	defer cancel()

	pageURL := make(chan string, 1)
	d := &demo{out: &lockedBuffer{}, logger: slog.New(slog.DiscardHandler), dir: t.TempDir(), started: time.Now(),
		listen: "127.0.0.1:0", staleAfter: 5 * time.Second, onPage: func(u string) { pageURL <- u }}
	demoCtx, stopDemo := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.run(demoCtx, 3, 4*time.Minute) }()
	defer func() {
		stopDemo()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	var url string
	select {
	case url = <-pageURL:
	case err := <-done:
		t.Fatalf("demo ended before serving the page: %v", err)
	case <-ctx.Done():
		t.Fatal("no page URL")
	}
	waitFor(t, ctx, "every pair to cycle", func() bool {
		v, err := d.view(ctx)
		return err == nil && len(v.Agents) == 3 && v.Stalled == 0
	})

	bctx, closeBrowser := newBrowser(t, ctx, chromium)
	defer closeBrowser()
	consoleErrors := collectConsoleErrors(bctx)
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#heatmap"))); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	// The script's first poll redraws the table (the summary then ends with
	// the JSON's RFC 3339 time, which has sub-second digits). Polls, not
	// one-off checks: on a loaded machine a live pair can miss the window
	// for a moment.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll("#agents tr.agent").length === 3 && /\.\d+Z/.test(document.getElementById("summary").textContent) && document.querySelectorAll("#heatmap td.cell.stale, #heatmap td.cell.never").length === 0`,
		chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		t.Fatalf("page never showed 3 agents with every pair fresh: %v", err)
	}
	names := evaluate[[]string](t, bctx, `Array.from(document.querySelectorAll("#agents tr.agent td:first-child")).map(e => e.textContent)`)
	if !slices.Equal(names, []string{"agent-1", "agent-2", "agent-3"}) {
		t.Fatalf("page shows agents %v; want agent-1..3", names)
	}

	if !d.stopAgent("agent-3") {
		t.Fatal("no agent-3 to stop")
	}
	// Exactly agent-3's four pairs (index 2) stale, the others fresh.
	const staleSet = `Array.from(document.querySelectorAll("#heatmap td.cell.stale")).map(c => c.dataset.i + "->" + c.dataset.r).sort().join(" ")`
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](staleSet+` === "0->2 1->2 2->0 2->1"`,
		chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		t.Fatalf("agent-3's pairs never turned stale alone on the page (stale now: %s): %v", evaluate[string](t, bctx, staleSet), err)
	}
	colour := evaluate[string](t, bctx, `getComputedStyle(document.querySelector("#heatmap td.cell.stale")).backgroundColor`)
	if colour != "rgb(204, 0, 0)" {
		t.Errorf("stale cells are coloured %s; want rgb(204, 0, 0)", colour)
	}
	stalledText := evaluate[string](t, bctx, `document.querySelector("#stalled tbody").textContent`)
	if strings.Count(stalledText, "stale") != 4 {
		t.Errorf("stalled pairs list = %q; want agent-3's 4 pairs", stalledText)
	}
	// The per-agent panel: a click on agent-3 lists its four pairs, all stale.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#agents tr.agent[data-agent="2"]`))); err != nil {
		t.Fatalf("click agent-3: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`(function () { var d = document.getElementById("detail");
		return d.querySelector("h3") !== null && d.querySelector("h3").textContent === "agent-3" &&
			d.querySelectorAll("tbody tr").length === 4 && d.querySelectorAll("tbody td.stale-txt").length === 4; })()`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Errorf("agent-3's panel: %v\n%s", err, evaluate[string](t, bctx, `document.getElementById("detail").textContent`))
	}
	saveScreenshot(t, bctx, "mesh-stale.png")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// collectConsoleErrors gathers console errors and warnings, uncaught
// exceptions and browser log errors (failed loads, CSP violations) until
// the returned func is called.
func collectConsoleErrors(ctx context.Context) func() []string {
	ctx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var errs []string
	done := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				mu.Lock()
				errs = append(errs, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return errs
	}
}

func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run hack/ci-deps.sh (apt package chromium)")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile, no network of
// its own (no updates, sync or QUIC) and a free debugging port.
func newBrowser(t *testing.T, ctx context.Context, path string) (context.Context, func()) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 700),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	if os.Getenv("CHROMIUM_DEBUG") != "" {
		opts = append(opts, chromedp.CombinedOutput(os.Stderr))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	return bctx, func() { cancelBrowser(); cancelAlloc() }
}

func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	dir := filepath.Join(repoRootDir(t), ".artifacts", "browser")
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

func repoRootDir(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lockedBuffer: the demo prints from its own goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
