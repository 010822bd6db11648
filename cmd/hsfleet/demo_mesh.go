package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/hsfleet/hsfleet/agent/store"
	"github.com/hsfleet/hsfleet/internal/mesh"
)

// autoStaleAfter: every pair cycles back to back and the demo completes
// roughly 50+ cycles/s in all, so a pair's turn comes every n(n-1)/50 s;
// three turns without a cycle, and at least 10 s, is stale.
func autoStaleAfter(n int) time.Duration {
	return max(10*time.Second, time.Duration(3*n*(n-1))*time.Second/50)
}

// stdoutTerminal reports whether stdout is a terminal, and whether to use
// colour there (NO_COLOR unset, TERM not dumb).
func stdoutTerminal() (tty, color bool) {
	if !term.IsTerminal(int(os.Stdout.Fd())) {
		return false, false
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return true, !noColor && os.Getenv("TERM") != "dumb"
}

// view reads every agent's database: the same view the page shows.
func (d *demo) view(ctx context.Context) (*mesh.View, error) {
	d.mu.Lock()
	stores := append([]*store.Store(nil), d.stores...)
	var data mesh.Data
	for id, name := range d.names {
		ready := !d.stopped[id]
		data.Agents = append(data.Agents, mesh.Agent{ID: id, Name: name, Ready: &ready})
	}
	d.mu.Unlock()
	read, err := mesh.ReadStores(ctx, store.MaxMeshRows, stores...)
	if err != nil {
		return nil, err
	}
	data.Agents = append(data.Agents, read.Agents...) // ours come first and win
	data.Rows, data.Truncated = read.Rows, read.Truncated
	return mesh.Build(time.Now(), d.staleAfter, data), nil
}

// servePage serves the mesh page on d.listen and prints its URL.
func (d *demo) servePage() (stop func(), err error) {
	ln, err := net.Listen("tcp", d.listen)
	if err != nil {
		return nil, fmt.Errorf("--http-listen %s: %w", d.listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mesh/", mesh.Handler(d.view, d.logger))
	mux.Handle("/{$}", http.RedirectHandler("/mesh/", http.StatusFound))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Warn("mesh page server stopped", "error", err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/mesh/"
	fmt.Fprintf(d.out, "mesh page: %s\n\n", url)
	if d.onPage != nil {
		d.onPage(url)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// redraw replaces the previous table on the terminal with the current one.
func (d *demo) redraw(ctx context.Context) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[%s] ", time.Since(d.started).Truncate(100*time.Millisecond))
	v, err := d.view(ctx)
	if err != nil {
		fmt.Fprintf(&b, "mesh view failed: %v\n", err)
	} else {
		width, _, _ := term.GetSize(int(os.Stdout.Fd()))
		mesh.RenderText(&b, v, mesh.TextOptions{Color: d.color, Width: width, Worst: 5})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.drawn > 0 {
		fmt.Fprintf(d.out, "\x1b[%dA\x1b[J", d.drawn) // up to the last draw's first line, clear below
	}
	d.out.Write(b.Bytes())
	d.drawn = strings.Count(b.String(), "\n")
}

// stopAgent stops one agent (its relay link and engine), as a crash
// would; its pairs go stale on the page.
func (d *demo) stopAgent(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	stop, ok := d.stops[name]
	if !ok {
		return false
	}
	stop()
	for id, n := range d.names {
		if n == name {
			d.stopped[id] = true
		}
	}
	return true
}
