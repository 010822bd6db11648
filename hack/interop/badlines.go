package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// badLines are the lines that used to kill every connected Python agent
// (issue 13): plain text, a 70 KB line, invalid UTF-8, a JSON array, and a
// small object that wraps to more than the client's 64 KiB.
var badLines = []string{
	"from to intent",
	`{"pad": "` + strings.Repeat("x", 70_000) + `"}`,
	"{\"from\": \"caf\xe9\", \"to\": null, \"intent\": \"register\"}",
	`[{"from": "x", "to": null, "intent": "register"}]`,
	`{"q": "` + strings.Repeat(`\"`, 21_000) + `"}`,
}

// sendBadLines sends badLines through the relay at addr and checks that
// the sender got one warning per line (our relay drops them all).
func sendBadLines(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, l := range badLines {
		if _, err := c.Write([]byte(l + "\n")); err != nil {
			return err
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 1<<20)
	warnings := 0
	for warnings < len(badLines) {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("bad lines: %d warnings of %d before %v", warnings, len(badLines), err)
		}
		if strings.HasPrefix(line, "Warning:") {
			warnings++
			fmt.Printf("  bad line %d answered: %s", warnings, line)
		}
	}
	return nil
}
