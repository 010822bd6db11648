package main

import (
	"net/url"
	"testing"
)

func TestDBParamsReplaceTheHarnessDSNParameters(t *testing.T) {
	base := "postgres://hs@127.0.0.1:5432/fleet?sslmode=disable&connect_timeout=5"
	for _, c := range []struct {
		params string
		want   url.Values
	}{
		{"", url.Values{"sslmode": {"disable"}, "connect_timeout": {"5"}}},
		{"connect_timeout=20", url.Values{"sslmode": {"disable"}, "connect_timeout": {"20"}}},
		{"hsfleet_prepare=off&connect_timeout=1&connect_timeout=30",
			url.Values{"sslmode": {"disable"}, "connect_timeout": {"30"}, "hsfleet_prepare": {"off"}}},
	} {
		got, err := withDBParams(base, c.params)
		if err != nil {
			t.Fatalf("%q: %v", c.params, err)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != "127.0.0.1:5432" || u.Path != "/fleet" || u.User.Username() != "hs" {
			t.Errorf("%q: DSN %s lost its server, database or user", c.params, got)
		}
		if q := u.Query(); q.Encode() != c.want.Encode() {
			t.Errorf("%q: parameters %v, want %v", c.params, q, c.want)
		}
		if c.want.Get("connect_timeout") != dsnParam(got, "connect_timeout") {
			t.Errorf("%q: dsnParam reads connect_timeout %q, want %q", c.params, dsnParam(got, "connect_timeout"), c.want.Get("connect_timeout"))
		}
	}
	if _, err := withDBParams(base, "a=%zz"); err == nil {
		t.Error("-db-params a=%zz: no error")
	}
}
