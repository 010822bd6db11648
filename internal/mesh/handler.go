package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Source builds the current view; errors are shown to the reader, logged
// and counted.
type Source func(ctx context.Context) (*View, error)

// SourceErrors counts failed view builds by the page handler. Register it
// where the handler runs.
var SourceErrors = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "hsfleet", Subsystem: "mesh", Name: "source_errors_total",
	Help: "Mesh page requests whose view could not be built (database or cluster read failed).",
})

// sourceTimeout bounds one view build so a stuck database cannot pile up requests.
const sourceTimeout = 10 * time.Second

// Handler serves the page at any path and its data at paths ending in
// ".json" (the page polls "mesh.json" relative to itself). Read-only: GET
// and HEAD only.
func Handler(src Source, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: GET or HEAD", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		ctx, cancel := context.WithTimeout(r.Context(), sourceTimeout)
		defer cancel()
		v, err := src(ctx)
		asJSON := strings.HasSuffix(r.URL.Path, ".json")
		if err != nil {
			SourceErrors.Inc()
			log.Warn("mesh view failed", "path", r.URL.Path, "error", err)
			if asJSON {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			} else {
				http.Error(w, "mesh view unavailable: "+err.Error(), http.StatusServiceUnavailable)
			}
			return
		}
		if asJSON {
			writeJSON(w, http.StatusOK, v)
			return
		}
		nonce := newNonce()
		var buf bytes.Buffer
		if err := RenderPage(&buf, v, nonce); err != nil {
			log.Error("mesh page render failed", "error", err)
			http.Error(w, "render failed", http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; script-src 'nonce-"+nonce+"'")
		w.Write(buf.Bytes())
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
