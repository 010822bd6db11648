package relay

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Client side of authenticated registration (auth.go, docs/relay-auth.md).

// DefaultClientAuthTimeout bounds the handshake. A relay that does not
// answer a hello (the Python server, an older hsfleet relay) costs this
// much once per connection before the client goes on unauthenticated; the
// hello itself is then relayed to the other clients, who ignore it (it has
// no from, to or intent).
const DefaultClientAuthTimeout = 3 * time.Second

// ClientAuth proves the client's agent ID on every connection.
type ClientAuth struct {
	// ID is the agent ID; Key is the Ed25519 key the trust bundle holds
	// for it.
	ID  string
	Key ed25519.PrivateKey
	// Required makes any outcome but success end the connection (and
	// redial with backoff); otherwise the client goes on unauthenticated.
	Required bool
	// Timeout bounds the handshake (0: DefaultClientAuthTimeout).
	Timeout time.Duration
}

// AuthOutcome reports one handshake. Result is "ok", a relay's refusal
// reason ("unknown_id", "bad_signature", "malformed"), "unavailable" (the
// relay has no trust bundle) or "no_answer" (the relay does not speak the
// protocol).
type AuthOutcome struct {
	Authenticated bool
	Result        string
}

// ErrAuthRefused: the relay refused the handshake, or Required was set and
// the client could not authenticate.
var ErrAuthRefused = errors.New("relay client: authentication refused")

const authResultNoAnswer = "no_answer"

func (a *ClientAuth) check() error {
	if !validAuthID(a.ID) {
		return fmt.Errorf("relay client auth: agent id %.40q: must be 1-128 printable ASCII bytes", a.ID)
	}
	if len(a.Key) != ed25519.PrivateKeySize {
		return errors.New("relay client auth: key is not an Ed25519 private key")
	}
	return nil
}

// authenticate runs the handshake on a fresh connection, before any queued
// line is written. Relayed lines that arrive meanwhile (other clients'
// traffic) are returned, in order, to be delivered first. The outcome is
// reported to OnAuth; the error ends the connection.
func (c *Client) authenticate(nc net.Conn, lr *LineReader) (early [][]byte, err error) {
	a := c.cfg.Auth
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = DefaultClientAuthTimeout
	}
	deadline := time.Now().Add(timeout)
	_ = nc.SetDeadline(deadline)
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	if _, err := nc.Write(encodeAuthLine(authMsg{Type: authHello, V: authVersion, ID: a.ID})); err != nil {
		return nil, fmt.Errorf("write auth hello: %w", err)
	}
	challenged := false
	for {
		line, err := lr.ReadLine()
		switch {
		case errors.Is(err, ErrLineTooLong):
			c.tooLong.Add(1)
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return early, c.authDone(AuthOutcome{Result: authResultNoAnswer})
		case err != nil:
			return nil, fmt.Errorf("read auth reply: %w", err)
		}
		if !isAuthLine(line) {
			if len(early) < c.cfg.RecvQueue {
				early = append(early, append([]byte(nil), line...))
			}
			continue
		}
		m, err := parseAuthLine(line)
		if err != nil {
			return nil, fmt.Errorf("auth reply from relay: %w", err)
		}
		switch {
		case m.Type == authChallenge && !challenged:
			challenged = true
			nonce, _ := base64.StdEncoding.DecodeString(m.Nonce) // checked by parseAuthLine
			resp := encodeAuthLine(authMsg{Type: authResponse, Sig: signAuth(a.Key, nonce, a.ID)})
			if _, err := nc.Write(resp); err != nil {
				return nil, fmt.Errorf("write auth response: %w", err)
			}
		case m.Type == authOK && challenged && m.ID == a.ID:
			return early, c.authDone(AuthOutcome{Authenticated: true, Result: authResultOK})
		case m.Type == authRefused:
			err := c.authDone(AuthOutcome{Result: m.Reason})
			if err == nil && m.Reason != authResultUnknownID {
				err = fmt.Errorf("%w: %s", ErrAuthRefused, m.Reason) // the relay closes anyway
			}
			return early, err
		case m.Type == authUnavailable && !challenged:
			return early, c.authDone(AuthOutcome{Result: authResultUnavailable})
		default:
			return nil, fmt.Errorf("auth reply from relay: unexpected %q", m.Type)
		}
	}
}

// authDone reports an outcome and decides whether the connection goes on.
func (c *Client) authDone(o AuthOutcome) error {
	if o.Authenticated {
		c.authOK.Add(1)
		c.log.Info("authenticated to relay", "agent_id", c.cfg.Auth.ID)
	} else {
		c.authFailed.Add(1)
		c.log.Warn("not authenticated to relay", "result", o.Result, "required", c.cfg.Auth.Required)
	}
	if c.cfg.OnAuth != nil {
		c.cfg.OnAuth(o)
	}
	if !o.Authenticated && c.cfg.Auth.Required {
		return fmt.Errorf("%w: %s", ErrAuthRefused, o.Result)
	}
	return nil
}
