package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRelayCommandRelaysAndStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("HSFLEET_MAX_LINE", "128") // env fills flags not given on the command line

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runRelay(ctx, []string{"--listen", addr, "--log-level", "error", "--allow-plain-text"})
	}()

	var a, b net.Conn
	deadline := time.Now().Add(5 * time.Second)
	for a == nil && time.Now().Before(deadline) {
		if a, err = net.Dial("tcp", addr); err != nil {
			a = nil
			time.Sleep(10 * time.Millisecond)
		}
	}
	if a == nil {
		t.Fatalf("relay never listened on %s", addr)
	}
	defer a.Close()
	if b, err = net.Dial("tcp", addr); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	br := bufio.NewReader(b)
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Resend until b is registered; the first line can race b's accept.
	var got string
	for range 50 {
		_, _ = a.Write([]byte("hello\n" + strings.Repeat("x", 200) + "\n"))
		_ = b.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if got, err = br.ReadString('\n'); err == nil {
			break
		}
	}
	if want := `"content": "hello"}`; !strings.Contains(got, want) {
		t.Fatalf("got %q, want a wrapper containing %q", got, want)
	}
	ar := bufio.NewReader(a)
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if warn, _ := ar.ReadString('\n'); !strings.Contains(warn, "128 bytes") {
		t.Errorf("200-byte line with HSFLEET_MAX_LINE=128: sender got %q, want the too-long warning", warn)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("relay returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not stop after cancel")
	}
}

func TestRelayCommandRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"negative max line", []string{"--listen", "127.0.0.1:0", "--max-line", "-1"}},
		{"unknown log format", []string{"--listen", "127.0.0.1:0", "--log-format", "xml"}},
		{"unparsable duration", []string{"--idle-timeout", "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := runRelay(context.Background(), tt.args); err == nil {
				t.Error("runRelay succeeded")
			}
		})
	}
}
