package main

import (
	"flag"
	"testing"
)

func TestParseFlagsFillsUnsetFlagsFromEnvironment(t *testing.T) {
	t.Setenv("HSFLEET_RELAY_ADDR", "127.0.0.1:9999")
	t.Setenv("HSFLEET_NAME", "from-env")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	relay := fs.String("relay-addr", "127.0.0.1:8888", "")
	name := fs.String("name", "", "")
	if err := parseFlags(fs, []string{"--name", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if *relay != "127.0.0.1:9999" {
		t.Errorf("relay-addr = %q, want the env value", *relay)
	}
	if *name != "from-flag" {
		t.Errorf("name = %q, want the command-line value to win over env", *name)
	}
}

func TestParseFlagsRejectsBadEnvironmentValue(t *testing.T) {
	t.Setenv("HSFLEET_COUNT", "many")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("count", 1, "")
	if err := parseFlags(fs, nil); err == nil {
		t.Fatal("want an error for a non-integer HSFLEET_COUNT")
	}
}

func TestRunUnknownCommandExitsTwo(t *testing.T) {
	if code := run([]string{"no-such-command"}); code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
}
