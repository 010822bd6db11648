package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, src Source) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/mesh/", Handler(src, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandlerServesPageAndJSON(t *testing.T) {
	d := fixture()
	d.Agents[0].Name = `<script>alert(1)</script>`
	srv := serve(t, func(context.Context) (*View, error) { return Build(t0, 30*time.Second, d), nil })

	resp, page := get(t, srv.URL+"/mesh") // the mux redirects to /mesh/
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(page, `<script nonce="`) {
		t.Errorf("CSP %q or the script's nonce is missing", csp)
	}
	for _, want := range []string{"alice", "carol", "&lt;script&gt;alert(1)&lt;/script&gt;", `class="cell stale"`, `class="cell never"`, `class="cell ok weak"`, "3 stalled"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("an agent name reached the page unescaped")
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "src=") {
		t.Error("the page refers to external assets")
	}

	resp, body := get(t, srv.URL+"/mesh/mesh.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("json: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var v View
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	stale := 0
	for i, row := range v.Cells {
		for r, c := range row {
			if (c == nil) != (i == r) {
				t.Errorf("cell %d->%d = %+v", i, r, c)
			} else if c != nil && c.Status == StatusStale {
				stale++
			}
		}
	}
	if len(v.Agents) != 3 || v.Stalled != 3 || stale != 1 || v.StaleAfter != 30 {
		t.Errorf("json view = %+v", v)
	}

	r, err := http.Post(srv.URL+"/mesh/mesh.json", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %s; want 405 (read-only)", r.Status)
	}
}

func TestHandlerReportsSourceErrors(t *testing.T) {
	srv := serve(t, func(context.Context) (*View, error) { return nil, errors.New("database unreachable") })
	resp, body := get(t, srv.URL+"/mesh/mesh.json")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "database unreachable") {
		t.Errorf("json on error: %s %s", resp.Status, body)
	}
	resp, body = get(t, srv.URL+"/mesh/")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "database unreachable") {
		t.Errorf("page on error: %s %s", resp.Status, body)
	}
}
