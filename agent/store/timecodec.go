package store

import (
	"fmt"
	"time"
)

// sqliteTimeLayout is fixed-width UTC, so SQLite's text comparison orders
// times correctly (nonce TTL deletes, ORDER BY last_cycle_at).
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// dbPrecision is PostgreSQL timestamptz's resolution; both dialects round
// to it so values round-trip exactly.
const dbPrecision = time.Microsecond

func normTime(t time.Time) time.Time { return t.UTC().Truncate(dbPrecision) }

// timeArg encodes a time for the dialect: time.Time for PostgreSQL
// (timestamptz), fixed-width text for SQLite.
func (s *Store) timeArg(t time.Time) any {
	t = normTime(t)
	if s.dialect == DialectSQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

func (s *Store) optTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.timeArg(*t)
}

// dbTime scans a nullable time from either dialect. Values from the
// database are untrusted: anything that is not a time is an error, never
// a zero value.
type dbTime struct {
	Time  time.Time
	Valid bool
}

var _ interface{ Scan(any) error } = (*dbTime)(nil)

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d = dbTime{}
		return nil
	case time.Time:
		*d = dbTime{Time: normTime(x), Valid: true}
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T into a time", v)
	}
}

func (d *dbTime) parse(s string) error {
	t, err := parseStoredTime(s)
	if err != nil {
		return err
	}
	*d = dbTime{Time: t, Valid: true}
	return nil
}

// parseStoredTime accepts our SQLite layout and, for rows written by other
// tools, RFC 3339 and SQLite's CURRENT_TIMESTAMP form (UTC by definition).
func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{sqliteTimeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return normTime(t), nil
		}
	}
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return time.Time{}, fmt.Errorf("store: stored time %q has an unknown format", s)
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.Time
	return &t
}
