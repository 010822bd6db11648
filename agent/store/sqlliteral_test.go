package store

import (
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hsfleet/hsfleet/agent/store/pgtest"
	"github.com/lib/pq"
)

// openLiteralDB is one connection to a fresh database, closed before the
// database is dropped.
func openLiteralDB(t testing.TB) *sql.DB {
	db, err := sql.Open("postgres", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// roundTrip sends v as a literal in a simple query and returns what the
// server read, as text, under the given standard_conforming_strings.
func roundTrip(t testing.TB, db *sql.DB, v any, conforming string) (string, bool, error) {
	var b strings.Builder
	if err := appendLiteral(&b, v); err != nil {
		return "", false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET standard_conforming_strings = `+conforming); err != nil {
		t.Fatal(err)
	}
	var got sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT CAST(`+b.String()+` AS text)`).Scan(&got); err != nil {
		t.Fatalf("literal %s: %v", b.String(), err)
	}
	return got.String, got.Valid, nil
}

func TestLiteralsRoundTripThroughTheServer(t *testing.T) {
	db := openLiteralDB(t)
	nasty := []string{"", "plain", "it's", "''", `back\slash`, `\'; DROP TABLE role_state; --`,
		"E'x'", "$$dollar$$", "ünïcødé ✓", "\t\n\r", `\\`, `'\`, "a\u2028b"}
	for _, conforming := range []string{"on", "off"} {
		for _, s := range nasty {
			got, valid, err := roundTrip(t, db, s, conforming)
			if err != nil || !valid || got != s {
				t.Errorf("standard_conforming_strings=%s: %q came back as %q (valid %v, err %v)", conforming, s, got, valid, err)
			}
		}
	}
	if _, valid, err := roundTrip(t, db, (*string)(nil), "on"); err != nil || valid {
		t.Errorf("nil *string: valid %v, err %v; want NULL", valid, err)
	}
	for _, v := range []any{int(-42), int64(1) << 62} {
		if _, _, err := roundTrip(t, db, v, "on"); err != nil {
			t.Errorf("%T %v: %v", v, v, err)
		}
	}
	at := time.Date(2026, 12, 4, 12, 0, 0, 123456000, time.UTC)
	var b strings.Builder
	if err := appendLiteral(&b, at); err != nil {
		t.Fatal(err)
	}
	var back time.Time
	if err := db.QueryRowContext(ctx, `SELECT CAST(`+b.String()+` AS timestamptz)`).Scan(&back); err != nil || !back.Equal(at) {
		t.Errorf("time %v came back as %v (%v)", at, back, err)
	}
}

func TestLiteralRefusesWhatCannotBeText(t *testing.T) {
	for _, v := range []any{"nul\x00byte", "bad\xffutf8", ptr("\x00"), 3.5, []byte("x"), struct{}{}} {
		var b strings.Builder
		if err := appendLiteral(&b, v); err == nil {
			t.Errorf("appendLiteral(%#v) = %q, want an error", v, b.String())
		}
	}
	var b strings.Builder
	if err := appendLiteral(&b, "nul\x00"); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL: %v, want ErrInvalid", err)
	}
}

// Every string the literal encoder accepts must reach the server as
// exactly that string, whatever standard_conforming_strings says; nothing
// may end the literal early (that would be SQL injection through a peer's
// nonce or key).
func FuzzLiteralRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "'", `\`, `\'`, `'\'`, "E'\\x41'", "--", "/*", "ü", "\x7f"} {
		f.Add(seed)
	}
	db := openLiteralDB(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, conforming := range []string{"on", "off"} {
			got, valid, err := roundTrip(t, db, s, conforming)
			if err != nil {
				if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
					t.Fatalf("valid text %q refused: %v", s, err)
				}
				return
			}
			if !valid || got != s {
				t.Fatalf("standard_conforming_strings=%s: %q came back as %q", conforming, s, got)
			}
		}
	})
}

// The batch statement's arrays travel as literals too: every element,
// NULL and empty string included, must come back from the server's
// unnest exactly, under both standard_conforming_strings settings.
func TestArrayLiteralsRoundTripThroughTheServer(t *testing.T) {
	db := openLiteralDB(t)
	elems := []sql.NullString{{}, {Valid: true}, {String: "NULL", Valid: true}, {String: `"quoted"`, Valid: true},
		{String: `back\slash`, Valid: true}, {String: "a,b", Valid: true}, {String: "{x}", Valid: true},
		{String: "it's", Valid: true}, {String: " spaced ", Valid: true}, {String: "ünï ✓", Valid: true},
		{String: `\'; DROP TABLE role_state; --`, Valid: true}}
	for _, conforming := range []string{"on", "off"} {
		var b strings.Builder
		if err := appendLiteral(&b, pq.Array(elems)); err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SET standard_conforming_strings = `+conforming); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, `SELECT e FROM unnest(CAST(`+b.String()+` AS text[])) WITH ORDINALITY AS t(e, i) ORDER BY i`)
		if err != nil {
			t.Fatalf("literal %s: %v", b.String(), err)
		}
		var got []sql.NullString
		for rows.Next() {
			var e sql.NullString
			if err := rows.Scan(&e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
		rows.Close()
		conn.Close()
		if !reflect.DeepEqual(got, elems) {
			t.Errorf("standard_conforming_strings=%s: %v came back as %v", conforming, elems, got)
		}
	}
	for _, v := range []any{pq.Array([]int64{-1, 0, 1 << 40}), pq.Array([]bool{true, false})} {
		var b strings.Builder
		if err := appendLiteral(&b, v); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT cardinality(`+b.String()+`::text[])`).Scan(&n); err != nil || n < 2 {
			t.Errorf("%s: %d elements, %v", b.String(), n, err)
		}
	}
	var b strings.Builder
	if err := appendLiteral(&b, pq.Array([]string{"nul\x00"})); !errors.Is(err, ErrInvalid) {
		t.Errorf("array with a NUL: %v, want ErrInvalid", err)
	}
}
