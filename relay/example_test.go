package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/hsfleet/hsfleet/relay"
)

// A relay on a free loopback port and two reconnecting clients: b announces
// itself from OnConnect, a receives the wrapped line.
func Example() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := relay.NewServer(relay.ServerConfig{Listen: "127.0.0.1:0"}, quiet)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx) }()

	connected := make(chan struct{})
	a := relay.NewClient(relay.ClientConfig{Addr: srv.Addr().String(), Logger: quiet,
		OnConnect: func() { close(connected) }})
	go func() { _ = a.Run(ctx) }()
	<-connected

	var b *relay.Client
	b = relay.NewClient(relay.ClientConfig{Addr: srv.Addr().String(), Logger: quiet,
		OnConnect: func() { _ = b.Send([]byte(`{"intent": "register"}` + "\n")) }})
	go func() { _ = b.Run(ctx) }()

	var wrapped struct {
		RemoteAddr string `json:"remote_addr"`
		Content    string `json:"content"`
	}
	if err := json.Unmarshal(<-a.Lines(), &wrapped); err != nil {
		panic(err)
	}
	fmt.Println(wrapped.Content)
	// Output: {"intent": "register"}
}
