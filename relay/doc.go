// Package relay is a Summoner-compatible broadcast relay and a reconnecting
// client for it.
//
// # Wire format
//
// Clients send newline-terminated UTF-8 lines over plain TCP. There is no
// greeting. Every line is delivered to every other client as
//
//	{"remote_addr": "127.0.0.1:39602", "content": "<the line, JSON-escaped>"}\n
//
// byte for byte as the reference Python server writes it with json.dumps:
// ", " and ": " separators, key order remote_addr then content, and
// ensure_ascii escaping (every byte outside 0x20..0x7e becomes \uXXXX in
// lower-case hex, astral code points as surrogate pairs; \b \f \n \r \t " and
// \ use their short forms). Exactly one trailing "\n" is stripped from the
// received line; a "\r" is kept, as Python does. IPv6 senders appear as
// "[::1]:5555". A final line without "\n" before EOF is still relayed.
//
// # Where it differs from the reference servers, on purpose
//
//   - No head-of-line blocking: each client has its own writer goroutine and a
//     bounded outbound queue (bytes). A line is wrapped once into a pooled,
//     reference-counted frame that every recipient's queue shares. A client
//     whose queue overflows, or whose socket write is stuck longer than the
//     write timeout, gets "Warning: ..." (best effort) and is disconnected.
//     Once a recipient's queue passes StallBytes (64 KiB) but it is still
//     draining, a sender's reader waits for it at most StallTimeout per line:
//     backpressure that reaches flooding senders through TCP and keeps
//     queues (and latency) short, instead of disconnecting a client on a
//     burst. A recipient whose socket write has been blocked for
//     StuckTimeout (250 ms by default) is stuck and never waited for, which
//     bounds how long one stopped reader can slow the others; a relay that
//     is merely short of CPU throttles senders instead of dropping clients.
//   - A line longer than MaxLine (default 64 KiB, as Python's StreamReader)
//     or one that is not valid UTF-8 is dropped and answered with a
//     "Warning: ..." line; the connection stays up (Python disconnects).
//   - Optional per-connection rate limit with the Rust server's semantics: a
//     fixed 60 s window, over-limit lines dropped and answered with
//     "Warning: You are sending messages too quickly. Please slow down.\n".
//   - Optional idle timeout; any bytes received count as activity.
//     "Warning: You have been disconnected due to inactivity.\n", then close.
//   - Graceful shutdown: stop accepting, send
//     "Warning: Server is shutting down.\n", drain queues, all within
//     ShutdownTimeout.
//   - Optional directed routing: a line whose typed-envelope payload names in
//     "to" a client id this relay learned from a connection's "from" goes only
//     to that connection. Unknown or null "to" still broadcasts. Without a
//     trust bundle, ids are learned from lines, one per connection, and an id
//     a second connection claims is contested: broadcast until every
//     claimant has left. With ServerConfig.TrustBundle only ids a client
//     proved are bound (below).
//   - Optional authenticated registration (auth.go, authconn.go,
//     clientauth.go, docs/relay-auth.md): a client whose first line is a
//     hello gets a challenge, signs it with its agent's Ed25519 key, and the
//     relay binds the id; such a client may claim only its own id as
//     "from", others may not claim a bundle id. Nothing is sent to a client
//     that did not say hello, so Python clients see no new line.
//   - The Python server's "Warning: Server disconnected." (without newline)
//     on the client's own EOF is not sent.
//
// # Observability
//
// /healthz, /readyz and /metrics are served on a separate listener. Metrics go
// to the server's own prometheus.Registry (ServerConfig.Registry, or a fresh
// one with the Go and process collectors), so several servers can live in one
// process (tests) and the relay exposes nothing registered by other packages.
// All are prefixed hsfleet_relay_: connections, connections_accepted_total,
// lines_received_total, bytes_received_total, lines_sent_total,
// bytes_sent_total, write_batches_total, lines_dropped_total{reason=too_long|
// invalid_utf8|rate_limited|recipient_gone}, disconnects_total{reason=eof|
// error|slow|idle|shutdown|server_full}, sender_stalls_total and
// lines_directed_total; with authentication auth_attempts_total{result},
// connections_authenticated, routes_contested_total, trust_bundle_agents
// and trust_bundle_reload_errors_total. Hot-path counters are added per read
// or write batch, not per line.
//
// # Replicas
//
// With ServerConfig.Cluster.Listen set, a relay embeds a NATS server and
// shares one broadcast domain with its replicas over NATS cluster routes
// (cluster.go, remote.go, busline.go; docs/relay-ha.md). Replicas announce
// the proven agent IDs they hold (presence*.go), so a directed line to an
// agent on another replica is sent there only, not broadcast here too.
//
// # Client
//
// Client keeps one connection alive: jittered exponential backoff between
// MinBackoff and MaxBackoff, forever (the reference client gives up after
// about 15 s), OnConnect after every connect so the agent can re-announce,
// a bounded send queue that survives reconnects, and a per-line read limit.
// Delivery is at most once, as with the reference client.
package relay
