package store

import (
	"fmt"
	"net/url"
)

// postgresDSN fills in the session settings the store relies on, unless the
// DSN sets them itself:
//
//   - binary_parameters=yes: lib/pq sends Parse, Bind and Execute in one
//     round trip instead of preparing the statement first (two round trips).
//     Our queries pass only text, integers, NULL and time.Time (sent as
//     text either way), so nothing changes on the wire but the latency.
//   - synchronous_commit=off, only with Options.AsyncCommit (see there).
//
// lib/pq sends unknown URL parameters as session settings at start-up, which
// is the same as options=-c synchronous_commit=off.
func postgresDSN(dsn string, opts Options) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error repeats the DSN, password included.
		return "", fmt.Errorf("%w: postgres DSN is not a URL", ErrUnsupportedDSN)
	}
	q := u.Query()
	if !q.Has("binary_parameters") {
		q.Set("binary_parameters", "yes")
	}
	if opts.AsyncCommit && !q.Has("synchronous_commit") {
		q.Set("synchronous_commit", "off")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
