package main

import (
	"fmt"
	"net/url"
)

// withDBParams is the fleet database's DSN with -db-params applied. A key
// given there replaces the harness's own (e.g. connect_timeout, 5 s from
// pgtest): appended instead, it would be ignored, as lib/pq reads a key's
// first value.
func withDBParams(base, params string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	extra, err := url.ParseQuery(params)
	if err != nil {
		return "", fmt.Errorf("-db-params: %w", err)
	}
	q := u.Query()
	for k, vs := range extra {
		q[k] = vs[len(vs)-1:]
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dsnParam is one query parameter of a DSN, or "unset".
func dsnParam(dsn, key string) string {
	u, err := url.Parse(dsn)
	if err != nil || !u.Query().Has(key) {
		return "unset"
	}
	return u.Query().Get(key)
}
