package store

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
)

// appendLiteral appends v as a PostgreSQL literal for EXECUTE's argument
// list (prepared.go). It accepts exactly the argument types the prepared
// statements take and refuses anything else, so a new argument type fails
// loudly instead of being formatted by guesswork.
//
// Strings go through pq.QuoteLiteral: quotes doubled, and a value holding
// a backslash becomes an E'...' string with backslashes doubled, which reads
// the same whatever standard_conforming_strings is. A NUL byte or invalid
// UTF-8 is refused (the session is UTF8: lib/pq sets client_encoding), so
// no value can end the statement or be misread as a multi-byte sequence.
// validate() rejects both before a query is built; this is the last guard.
func appendLiteral(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case string:
		return appendString(b, x)
	case *string:
		if x == nil {
			b.WriteString("NULL")
			return nil
		}
		return appendString(b, *x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case time.Time:
		// lib/pq's own text encoding of a timestamptz parameter; only
		// digits, '-', ':', '.', ' ', '+' and era letters.
		b.WriteByte('\'')
		b.Write(pq.FormatTimestamp(x))
		b.WriteByte('\'')
	case *pq.Int64Array, *pq.BoolArray, *pq.StringArray, pq.GenericArray:
		// pq.Array's own text form ({1,2}, {t,f}, {"a",NULL}: elements
		// double-quoted with '"' and backslash escaped), then quoted as a string;
		// the server casts it to the parameter's array type.
		return appendArray(b, x.(driver.Valuer))
	default:
		return fmt.Errorf("store: no SQL literal for %T", v)
	}
	return nil
}

func appendArray(b *strings.Builder, a driver.Valuer) error {
	v, err := a.Value()
	if err != nil {
		return fmt.Errorf("store: array literal: %w", err)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
		return nil
	case string:
		return appendString(b, x)
	case []byte:
		return appendString(b, string(x))
	default:
		return fmt.Errorf("store: array literal: unexpected %T", v)
	}
}

func appendString(b *strings.Builder, s string) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: value is not valid UTF-8 text without NUL", ErrInvalid)
	}
	if strings.ContainsAny(s, `'\`) {
		b.WriteString(pq.QuoteLiteral(s))
		return nil
	}
	// What pq.QuoteLiteral returns for such a string, without its copies.
	b.WriteByte('\'')
	b.WriteString(s)
	b.WriteByte('\'')
	return nil
}
