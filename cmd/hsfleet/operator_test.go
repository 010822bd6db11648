package main

import "testing"

func TestSplitList(t *testing.T) {
	got := splitList(" a, b,,c ,")
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("splitList = %q", got)
	}
	if splitList("") != nil {
		t.Fatal("empty list must be nil (all namespaces)")
	}
}
