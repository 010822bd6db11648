package relay

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Relay side of authenticated registration (auth.go has the wire format,
// docs/relay-auth.md the design). All of it runs on the connection's
// reader goroutine, except endConn, which bundle reloads call too.

// Warnings for connections authentication ends.
const (
	WarnAuthRequired  = "Warning: Authentication required.\n"
	WarnAuthTimeout   = "Warning: Authentication timed out.\n"
	WarnReauth        = "Warning: Your agent ID is now in the trust bundle; reconnect to authenticate.\n"
	WarnBundleChanged = "Warning: Your agent key is no longer in the trust bundle.\n"
)

// authProof is what a connection proved; read by bundle reloads.
type authProof struct {
	id  string
	key ed25519.PublicKey
}

// authPending is a hello the relay answered with a challenge.
type authPending struct {
	id    string
	nonce []byte
}

// greet handles a connection's first line when the relay authenticates,
// or when the line is a hello. It reports whether the line was consumed
// (an auth line, never relayed); a connection to end is ended with endConn.
func (c *conn) greet(line []byte) (consumed bool) {
	s := c.srv
	if !isAuthLine(line) {
		if s.cfg.RequireAuth {
			c.endConn(reasonAuthRequired, s.warnAuthRequired)
			return true
		}
		c.clearAuthDeadline()
		return false
	}
	m, err := parseAuthLine(line)
	if err == nil && m.Type != authHello {
		err = ErrBadAuthLine
	}
	if err != nil {
		c.refuse(authResultMalformed, true)
		c.log.Warn("auth refused", "reason", authResultMalformed, "error", err)
		return true
	}
	if s.trust == nil {
		s.metrics.authAttempts.WithLabelValues(authResultUnavailable).Inc()
		c.sendAuth(authMsg{Type: authUnavailable})
		c.clearAuthDeadline()
		return true
	}
	if _, known := s.trust.Bundle()[m.ID]; !known {
		c.refuse(authResultUnknownID, s.cfg.RequireAuth)
		c.log.Warn("auth refused", "reason", authResultUnknownID, "agent_id", m.ID, "require_auth", s.cfg.RequireAuth)
		c.helloID = m.ID // re-authenticate once the bundle has it
		c.clearAuthDeadline()
		return true
	}
	nonce := make([]byte, authNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	c.pending = &authPending{id: m.ID, nonce: nonce}
	c.authUntil = time.Now().Add(s.cfg.AuthTimeout)
	c.sendAuth(authMsg{Type: authChallenge, V: authVersion, Nonce: base64.StdEncoding.EncodeToString(nonce)})
	return true
}

// finishAuth checks the line answering a challenge. The nonce is used
// once: whatever the line, the pending challenge is gone.
func (c *conn) finishAuth(line []byte) {
	s := c.srv
	p := c.pending
	c.pending = nil
	m, err := parseAuthLine(line)
	if err == nil && m.Type != authResponse {
		err = ErrBadAuthLine
	}
	if err != nil {
		c.refuse(authResultMalformed, true)
		c.log.Warn("auth refused", "reason", authResultMalformed, "agent_id", p.id, "error", err)
		return
	}
	// During a key rotation the bundle lists the old and the new key of an
	// ID (docs/rotation.md): either proves it.
	keys := s.trust.Keys(p.id)
	if len(keys) == 0 { // left the bundle since the hello
		c.refuse(authResultUnknownID, true)
		c.log.Warn("auth refused", "reason", authResultUnknownID, "agent_id", p.id)
		return
	}
	key := provingKey(keys, p.nonce, p.id, m.Sig)
	if key == nil {
		c.refuse(authResultBadSignature, true)
		c.log.Warn("auth refused", "reason", authResultBadSignature, "agent_id", p.id)
		return
	}
	c.authID = p.id
	c.proof.Store(&authProof{id: p.id, key: key})
	s.hub.bind(c, p.id)
	s.metrics.authAttempts.WithLabelValues(authResultOK).Inc()
	s.metrics.authenticated.Inc()
	c.clearAuthDeadline()
	c.sendAuth(authMsg{Type: authOK, ID: p.id})
	c.log.Info("client authenticated", "agent_id", p.id)
}

// refuse answers an auth attempt with a refusal, counted by reason, and
// ends the connection when end is set.
func (c *conn) refuse(reason string, end bool) {
	c.srv.metrics.authAttempts.WithLabelValues(reason).Inc()
	f := authFrame(authMsg{Type: authRefused, Reason: reason})
	if end {
		c.endConn(reasonAuthFailed, f)
		return
	}
	c.sendSelf(f)
}

func (c *conn) sendAuth(m authMsg) { c.sendSelf(authFrame(m)) }

// authFrame is never pooled: auth lines are rare, and one may be a
// queue's final line, which is never released.
func authFrame(m authMsg) *frame {
	return &frame{b: encodeAuthLine(m), static: true}
}

// clearAuthDeadline drops the handshake deadline (and the socket deadline
// it may have armed, when no idle timeout re-arms one).
func (c *conn) clearAuthDeadline() {
	if c.authUntil.IsZero() {
		return
	}
	c.authUntil = time.Time{}
	if c.srv.cfg.IdleTimeout == 0 {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
}

// claimOK applies the sender rules to one line when the relay has a trust
// bundle: an authenticated client may claim only its own ID; another may
// not claim a bundle ID at all. Claims the scan cannot vouch for are
// refused from both. Dropped lines are counted and logged, not answered.
func (c *conn) claimOK(cl claim) bool {
	s := c.srv
	switch {
	case c.authID != "":
		if cl.ambiguous || (cl.from != nil && string(cl.from) != c.authID) {
			s.metrics.dropFromMismatch.Inc()
			c.logDrop(reasonFromMismatch, "bytes", len(cl.from))
			return false
		}
	case cl.ambiguous:
		s.metrics.dropAmbiguousFrom.Inc()
		c.logDrop(reasonAmbiguousFrom, "bytes", 0)
		return false
	case cl.from != nil:
		if _, inBundle := s.trust.Bundle()[string(cl.from)]; inBundle {
			s.metrics.dropUnauthID.Inc()
			c.logDrop(reasonUnauthenticatedID, "bytes", len(cl.from))
			if c.helloID != "" && c.helloID == string(cl.from) {
				// An hsfleet agent that was unknown at its hello: its
				// ID has joined the bundle, so make it reconnect and
				// prove it instead of dropping its lines forever.
				c.endConn(reasonReauth, s.warnReauth)
			}
			return false
		}
	}
	return true
}

// endConn ends a connection from its reader or another goroutine: final
// is its last line, then the reader stops at its next line or read.
func (c *conn) endConn(reason string, final *frame) {
	c.setReason(reason)
	c.ending.Store(true)
	c.q.close(final)
	_ = c.nc.SetReadDeadline(time.Now())
}

// revalidate ends every authenticated connection whose proven key is no
// longer a key the bundle accepts for its ID (a retired rotation key
// included). It runs after each bundle reload.
func (s *Server) revalidate() {
	b := s.trust.Bundle()
	s.metrics.bundleAgents.Set(float64(len(b)))
	for _, c := range s.hub.conns() {
		p := c.proof.Load()
		if p == nil {
			continue
		}
		if !s.trust.Accepts(p.id, p.key) {
			c.log.Warn("agent key left the trust bundle, disconnecting", "agent_id", p.id)
			c.endConn(reasonBundleChanged, s.warnBundleChanged)
		}
	}
}
