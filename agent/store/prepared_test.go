package store

import (
	"errors"
	"net/url"
	"testing"
)

func TestPrepareParamIsStrippedOrRejected(t *testing.T) {
	for _, tc := range []struct {
		dsn, want   string
		wantPrepare bool
		wantErr     bool
	}{
		{"postgres://h/db?sslmode=disable", "postgres://h/db?sslmode=disable", false, false},
		{"postgres://h/db?hsfleet_prepare=on&sslmode=disable", "postgres://h/db?sslmode=disable", true, false},
		{"postgres://h/db?hsfleet_prepare=OFF", "postgres://h/db", false, false},
		{"postgres://h/db?hsfleet_prepare=maybe", "", false, true},
	} {
		got, prepare, err := takePrepareParam(tc.dsn)
		if (err != nil) != tc.wantErr || got != tc.want || prepare != tc.wantPrepare {
			t.Errorf("takePrepareParam(%q) = %q, %v, %v; want %q, %v, error %v", tc.dsn, got, prepare, err, tc.want, tc.wantPrepare, tc.wantErr)
		}
	}
}

// The DSN comes from a Secret: takePrepareParam must never panic, and what
// it returns must parse and no longer carry the parameter.
func FuzzTakePrepareParam(f *testing.F) {
	for _, seed := range []string{
		"postgres://h/db?hsfleet_prepare=on", "postgres://h/db?hsfleet_prepare=on&hsfleet_prepare=off",
		"postgres://h/db?hsfleet_prepare=", "postgres://h/db?%zz&hsfleet_prepare=1", "postgres://h/db",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got, _, err := takePrepareParam(dsn)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedDSN) {
				t.Fatalf("error %v is not ErrUnsupportedDSN", err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("output %q does not parse: %v", got, err)
		}
		if u.Query().Has(PrepareParam) {
			t.Fatalf("output %q still has %s", got, PrepareParam)
		}
	})
}
