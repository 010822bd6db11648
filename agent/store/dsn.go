package store

import (
	"fmt"
	"strings"
)

// Dialect names returned by Store.Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// sqliteMemory is the path that selects a private in-memory database.
const sqliteMemory = ":memory:"

// parseDSN picks the dialect. For SQLite it returns the file path:
// "sqlite:PATH", "sqlite://PATH" (so sqlite:///abs/path works) or
// "sqlite::memory:". Driver parameters are ours to set, so a path holding
// '?' is refused rather than silently mangled.
func parseDSN(dsn string) (dialect, target string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return DialectPostgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if strings.HasPrefix(path, "//") {
			path = strings.TrimPrefix(path, "//")
		}
		if path == "" {
			return "", "", fmt.Errorf("%w: sqlite DSN without a path", ErrUnsupportedDSN)
		}
		if strings.ContainsAny(path, "?\x00") {
			return "", "", fmt.Errorf("%w: sqlite path must not contain '?' or NUL", ErrUnsupportedDSN)
		}
		return DialectSQLite, path, nil
	default:
		return "", "", ErrUnsupportedDSN
	}
}
