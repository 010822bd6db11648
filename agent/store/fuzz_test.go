package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDSNSelectsDialect(t *testing.T) {
	cases := []struct {
		dsn, dialect, target string
		wantErr              bool
	}{
		{"postgres://u@h:5432/db?sslmode=disable", DialectPostgres, "postgres://u@h:5432/db?sslmode=disable", false},
		{"postgresql://u@h/db", DialectPostgres, "postgresql://u@h/db", false},
		{"sqlite:/var/lib/hsfleet/state.db", DialectSQLite, "/var/lib/hsfleet/state.db", false},
		{"sqlite:state.db", DialectSQLite, "state.db", false},
		{"sqlite:///abs/state.db", DialectSQLite, "/abs/state.db", false},
		{"sqlite::memory:", DialectSQLite, ":memory:", false},
		{"sqlite:", "", "", true},
		{"sqlite:x.db?_pragma=foo", "", "", true},
		{"mysql://h/db", "", "", true},
		{"host=h dbname=db", "", "", true},
		{"", "", "", true},
	}
	for _, tc := range cases {
		d, target, err := parseDSN(tc.dsn)
		if tc.wantErr {
			if !errors.Is(err, ErrUnsupportedDSN) {
				t.Errorf("parseDSN(%q) err = %v, want ErrUnsupportedDSN", tc.dsn, err)
			}
			continue
		}
		if err != nil || d != tc.dialect || target != tc.target {
			t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q", tc.dsn, d, target, err, tc.dialect, tc.target)
		}
	}
}

func TestOpenRejectsUnsupportedDSN(t *testing.T) {
	if _, err := Open(ctx, "mysql://h/db"); !errors.Is(err, ErrUnsupportedDSN) {
		t.Fatalf("err = %v, want ErrUnsupportedDSN", err)
	}
}

func TestInMemorySQLiteKeepsDataAcrossOperations(t *testing.T) {
	s := openTestStore(t, "sqlite::memory:", nil)
	k := Key{SelfID: "a", Role: Initiator, PeerID: "b"}
	if _, err := s.GetOrCreate(ctx, k, "init_ready"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k); err != nil {
		t.Fatalf("in-memory row not visible to the next read: %v", err)
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, seed := range []string{"postgres://u@h/db", "sqlite:x.db", "sqlite:///a/b", "sqlite::memory:", "sqlite:", "sqlite:a?b", "x", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		d, target, err := parseDSN(dsn)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedDSN) || d != "" || target != "" {
				t.Fatalf("parseDSN(%q) = %q, %q, %v: errors must be ErrUnsupportedDSN with no result", dsn, d, target, err)
			}
			return
		}
		switch d {
		case DialectPostgres:
			if target != dsn {
				t.Fatalf("postgres DSN altered: %q -> %q", dsn, target)
			}
		case DialectSQLite:
			if target == "" || strings.ContainsAny(target, "?\x00") || !strings.HasSuffix(dsn, target) {
				t.Fatalf("sqlite path %q from %q", target, dsn)
			}
		default:
			t.Fatalf("unknown dialect %q", d)
		}
	})
}

// Times read back from SQLite are untrusted text: the parser must return a
// UTC time or an error, never panic, and round-trip what we write.
func FuzzParseStoredTime(f *testing.F) {
	for _, seed := range []string{
		"2026-11-26T09:39:09.100534Z", "2026-11-26T09:39:09.100534+00:00", "2026-11-26 09:39:09",
		"2026-11-26T09:39:09+01:00", "", "not a time", "9999-99-99T99:99:99.999999Z",
	} {
		f.Add(seed)
	}
	f.Add(strings.Repeat("9", 200))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseStoredTime(s)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Fatalf("error message not bounded: %d bytes", len(err.Error()))
			}
			return
		}
		if got.Location() != time.UTC || !got.Equal(got.Truncate(dbPrecision)) {
			t.Fatalf("parseStoredTime(%q) = %v: want UTC at microsecond precision", s, got)
		}
		again, err := parseStoredTime(got.Format(sqliteTimeLayout))
		if got.Year() >= 0 && got.Year() <= 9999 && (err != nil || !again.Equal(got)) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
	})
}

func FuzzCheckText(f *testing.F) {
	for _, seed := range []string{"peer-1", "", "a\x00b", "\xff", strings.Repeat("x", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := checkText("field", v, maxIDLen, true)
		ok := v != "" && len(v) <= maxIDLen && !strings.ContainsRune(v, 0) && strings.ToValidUTF8(v, "\ufffd") == v
		if (err == nil) != ok {
			t.Fatalf("checkText(%q) = %v, want ok=%v", v, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("checkText error %v is not ErrInvalid", err)
		}
	})
}
