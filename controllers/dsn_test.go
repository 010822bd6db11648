package controllers

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestValidateDSNAcceptsOnlyPostgresURLs(t *testing.T) {
	tests := []struct {
		name    string
		dsn     string
		wantErr bool
	}{
		{"postgres URL", "postgres://u:p@db:5432/hsfleet?sslmode=require", false},
		{"postgresql URL", "postgresql://u:p@db/hsfleet", false},
		{"scheme spelled otherwise than agent/store accepts", "PostgreS://db/hsfleet", true},
		{"sqlite path", "sqlite:/var/lib/state.db", true},
		{"sqlite URL", "sqlite:///var/lib/state.db", true},
		{"key=value DSN", "host=db user=u password=s3cret dbname=hsfleet", true},
		{"mysql URL", "mysql://u:p@db/hsfleet", true},
		{"invalid URL escape", "postgres://u:p%zz@db/hsfleet", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateDSN(tt.dsn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("validateDSN(%q) = %v, want error %v", tt.dsn, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, errDatabaseDSNUnsupported) {
				t.Fatalf("err = %v, want errDatabaseDSNUnsupported", err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "p%zz") {
				t.Fatalf("error quotes the DSN: %v", err)
			}
		})
	}
}

func TestRedactDSNRemovesCredentialsInAnyForm(t *testing.T) {
	const dsn = "postgres://hs:p@ss w0rd/x@db.example:5432/hsfleet?sslmode=require"
	escaped := "postgres://hs:p%40ss%20w0rd%2Fx@db.example:5432/hsfleet?sslmode=require"
	tests := []struct {
		name, dsn, msg string
	}{
		{"the DSN verbatim", escaped, "dial " + escaped + ": connection refused"},
		{"the DSN rewritten by store.Open", escaped, "open " + escaped + "&binary_parameters=yes: refused"},
		{"the password decoded", escaped, `pq: password authentication failed for "p@ss w0rd/x"`},
		{"the password query-escaped", escaped, "parse p%40ss+w0rd%2Fx failed"},
		{"an unparsable DSN quoted by url.Error", dsn, `parse "` + dsn + `": invalid character`},
		{"another URL with userinfo", "", "retry postgres://hs:p%40ss%20w0rd%2Fx@replica/db failed"},
		{"a password query parameter", "", "open postgres://db/hsfleet?password=p%40ss%20w0rd%2Fx&sslmode=disable"},
		{"a key=value DSN", "", "bad DSN host=db password='p@ss w0rd/x' dbname=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactDSN(tt.msg, tt.dsn)
			for _, secret := range []string{"p@ss", "p%40ss", "w0rd"} {
				if strings.Contains(got, secret) {
					t.Fatalf("redactDSN(%q) = %q still holds %q", tt.msg, got, secret)
				}
			}
		})
	}
	if got := redactDSN("dial tcp 127.0.0.1:5432: connection refused", escaped); got != "dial tcp 127.0.0.1:5432: connection refused" {
		t.Fatalf("a message without credentials changed: %q", got)
	}
}

// FuzzRedactDSN: whatever the password, neither the DSN store.Open builds
// from it nor the password itself survives redaction.
func FuzzRedactDSN(f *testing.F) {
	f.Add("hs", "s3cret", "db:5432")
	f.Add("u", "p@ss w0rd/x?#", "[::1]:5432")
	f.Add("", "pw&password=1", "h")
	f.Fuzz(func(t *testing.T, user, pw, host string) {
		if len(pw) < 3 || strings.ContainsAny(pw, "<>") || strings.Contains("<redacted><dsn>", pw) {
			return // shorter passwords may occur in the redaction markers themselves
		}
		u := &url.URL{Scheme: "postgres", User: url.UserPassword(user, pw), Host: host, Path: "/hsfleet"}
		dsn := u.String()
		if validateDSN(dsn) != nil {
			return // rejected before any open, so never quoted by a driver
		}
		q := u.Query()
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
		msg := "open " + dsn + " then " + u.String() + ": auth failed for " + pw
		got := redactDSN(msg, dsn)
		for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
			if strings.Contains(got, form) {
				t.Fatalf("redactDSN left %q in %q", form, got)
			}
		}
	})
}

func TestWithConnectTimeoutBoundsTheStartupHandshake(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres://u:p@h:5432/db?connect_timeout=3&sslmode=disable"},
		{"postgres://h/db?connect_timeout=9", "postgres://h/db?connect_timeout=9"},
		{"postgres://h/db", "postgres://h/db?connect_timeout=3"},
		{"sqlite:/tmp/x.db", "sqlite:/tmp/x.db"}, // tests' pools only; not a network database
	} {
		if got := withConnectTimeout(tt.in, 3*time.Second); got != tt.want {
			t.Errorf("withConnectTimeout(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
