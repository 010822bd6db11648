package main

import (
	"strings"
	"testing"
)

// FuzzLabelFlag: any -label value is either rejected or stored so that the
// key and value join back to the input; the parser never panics.
func FuzzLabelFlag(f *testing.F) {
	for _, seed := range []string{"a=b", "org.opencontainers.image.version=v1", "k=", "=v", "novalue", "a=b=c", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var l labelFlag
		err := l.Set(in)
		if err != nil {
			if strings.Contains(in, "=") && !strings.HasPrefix(in, "=") {
				t.Fatalf("rejected well-formed %q: %v", in, err)
			}
			return
		}
		if len(l.m) != 1 {
			t.Fatalf("Set(%q) stored %v", in, l.m)
		}
		for k, v := range l.m {
			if k == "" || k+"="+v != in {
				t.Fatalf("Set(%q) stored %q=%q", in, k, v)
			}
		}
	})
}
