package main

import (
	"encoding/base64"
	"flag"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func flagSetForSplit() *flag.FlagSet {
	set := flag.NewFlagSet("t", flag.ContinueOnError)
	set.String("name", "", "")
	set.String("passphrase-file", "", "")
	set.Bool("json", false, "")
	return set
}
