package relay

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
)

func TestReadyzIsUnavailableUntilServingAndAfterShutdown(t *testing.T) {
	s, err := NewServer(ServerConfig{Listen: "127.0.0.1:0"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ln.Close() })
	h := s.healthHandler()
	probe := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	steps := []struct {
		name  string
		ready bool
		path  string
		want  int
	}{
		{"before Serve, not ready", false, "/readyz", http.StatusServiceUnavailable},
		{"before Serve, alive", false, "/healthz", http.StatusOK},
		{"serving, ready", true, "/readyz", http.StatusOK},
		{"shutting down, not ready", false, "/readyz", http.StatusServiceUnavailable},
		{"unknown path", true, "/debug", http.StatusNotFound},
	}
	for _, st := range steps {
		s.ready.Store(st.ready)
		if got := probe(st.path); got != st.want {
			t.Errorf("%s: GET %s = %d, want %d", st.name, st.path, got, st.want)
		}
	}
}

func TestTemporaryAcceptErrorsAreRetried(t *testing.T) {
	wrap := func(errno syscall.Errno) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
	}
	tests := []struct {
		err  error
		want bool
	}{
		{wrap(syscall.EMFILE), true},
		{wrap(syscall.ENFILE), true},
		{wrap(syscall.ENOBUFS), true},
		{wrap(syscall.ENOMEM), true},
		{net.ErrClosed, false},
		{errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := temporaryAcceptError(tt.err); got != tt.want {
				t.Errorf("temporaryAcceptError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
