package main

import (
	"flag"
	"testing"
)

func TestAgentDBAsyncCommitDefaultsOnAndCanBeTurnedOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want bool
	}{
		{"agents commit asynchronously by default", nil, "", true},
		{"flag turns it off", []string{"--db-async-commit=false"}, "", false},
		{"env turns it off", nil, "false", false},
		{"flag wins over env", []string{"--db-async-commit=true"}, "false", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("HSFLEET_DB_ASYNC_COMMIT", tc.env)
			}
			fs := flag.NewFlagSet("agent", flag.ContinueOnError)
			o := agentFlags(fs)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			if o.dbAsyncCommit != tc.want {
				t.Fatalf("dbAsyncCommit %v, want %v", o.dbAsyncCommit, tc.want)
			}
		})
	}
}
