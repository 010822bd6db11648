package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseSmapsRollupSumsThePrivateLines(t *testing.T) {
	rollup := `5627f5b07000-7fff66dc2000 ---p 00000000 00:00 0                          [rollup]
Rss:               70088 kB
Pss:               30000 kB
Shared_Clean:      41000 kB
Shared_Dirty:          0 kB
Private_Clean:      3520 kB
Private_Dirty:     25400 kB
Anonymous:         25400 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
`
	got, err := parseSmapsRollup(strings.NewReader(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(3520+25400) << 10; got != want {
		t.Fatalf("private %d bytes, want %d", got, want)
	}
	for _, bad := range []string{"Rss: 1 kB\n", "Private_Dirty: x kB\n", "Private_Dirty: 12\n", "Private_Clean: -4 kB\n"} {
		if _, err := parseSmapsRollup(strings.NewReader(bad)); err == nil {
			t.Errorf("parseSmapsRollup(%q) succeeded", bad)
		}
	}
}

func TestReadPrivateBytesOfThisProcessIsPartOfItsRSS(t *testing.T) {
	private, err := readPrivateBytes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if private <= 0 || p.privateBytes <= 0 || p.privateBytes > p.rssBytes {
		t.Fatalf("private %d / %d bytes, RSS %d bytes", private, p.privateBytes, p.rssBytes)
	}
}
