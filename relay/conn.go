package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// warnGrace bounds the attempt to hand a disconnect warning to a client
// whose socket may already be full.
const warnGrace = 200 * time.Millisecond

var (
	errShuttingDown = errors.New("relay shutting down")
	errEnding       = errors.New("connection ended by the relay")
)

// conn is one client: a reader goroutine that wraps and fans out its lines,
// and a writer goroutine that drains its outbound queue in batches.
type conn struct {
	srv     *Server
	nc      net.Conn
	addr    string
	prefix  []byte // {"remote_addr": "<addr>", "content": "
	q       *outQueue
	log     *slog.Logger
	limiter *fixedWindow
	routeID string // the id it claims; written by its reader goroutine under hub.routeMu
	proof   atomic.Pointer[authProof]
	ending  atomic.Bool // endConn: stop reading

	writerDone chan struct{}

	reasonMu sync.Mutex
	reason   string // why the connection ended; first one wins

	// reader-only state
	stallTimer *time.Timer
	busBuf     []byte          // scratch for encoding lines sent to other replicas
	warned     map[string]bool // drop reasons already logged at warn level
	greeted    bool            // the first line was seen (authconn.go greet)
	pending    *authPending    // a challenge awaiting its response
	authID     string          // the agent ID this client proved
	helloID    string          // an ID it asked for that was not in the bundle
	authUntil  time.Time       // handshake deadline, zero when none

	// writer-only state
	iov        [][]byte
	bufs       net.Buffers
	deadlineAt int64 // unix nanos of the armed write deadline
}

func newConn(s *Server, nc net.Conn) *conn {
	addr := FormatAddr(nc.RemoteAddr())
	t := time.NewTimer(time.Hour)
	t.Stop()
	c := &conn{
		srv:        s,
		nc:         nc,
		addr:       addr,
		prefix:     wrapPrefix(addr),
		q:          newOutQueue(s.cfg.QueueBytes, s.cfg.StallBytes),
		log:        s.log.With("remote_addr", addr),
		limiter:    newFixedWindow(s.cfg.RateLimitPerMinute),
		writerDone: make(chan struct{}),
		stallTimer: t,
	}
	if s.cfg.RequireAuth {
		c.authUntil = time.Now().Add(s.cfg.AuthTimeout)
	}
	return c
}

func (c *conn) setReason(r string) {
	c.reasonMu.Lock()
	if c.reason == "" {
		c.reason = r
	}
	c.reasonMu.Unlock()
}

func (c *conn) endReason() string {
	c.reasonMu.Lock()
	defer c.reasonMu.Unlock()
	return c.reason
}

// kill disconnects a client that cannot keep up. Called from other clients'
// readers, so it must not block: it drops the queue, warns best-effort and
// cuts short any write the writer is stuck in.
func (c *conn) kill() {
	if !c.q.abort(c.srv.warnSlow) {
		return
	}
	c.setReason(reasonSlow)
	_ = c.nc.SetWriteDeadline(time.Now().Add(warnGrace))
	c.log.Warn("client too slow, disconnecting", "queue_limit_bytes", c.srv.cfg.QueueBytes)
}

// Read feeds the line reader: it refuses to block once shutdown started and
// arms the idle timeout before each read.
func (c *conn) Read(p []byte) (int, error) {
	if c.srv.closing.Load() {
		return 0, errShuttingDown
	}
	if c.ending.Load() {
		return 0, errEnding
	}
	var deadline time.Time
	if d := c.srv.cfg.IdleTimeout; d > 0 {
		deadline = time.Now().Add(d)
	}
	if !c.authUntil.IsZero() && (deadline.IsZero() || c.authUntil.Before(deadline)) {
		deadline = c.authUntil
	}
	if !deadline.IsZero() {
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
	}
	return c.nc.Read(p)
}

// readLoop runs on its own goroutine until the client goes away.
func (c *conn) readLoop() {
	m := c.srv.metrics
	lr := NewLineReader(c, c.srv.cfg.MaxLine)
	var lines, nbytes int
	flush := func() {
		if lines > 0 {
			m.linesIn.Add(float64(lines))
			m.bytesIn.Add(float64(nbytes))
			lines, nbytes = 0, 0
		}
	}
	var final *frame
	for {
		line, err := lr.ReadLine()
		if err == nil {
			lines++
			nbytes += len(line) + 1
			c.handle(line)
			if c.ending.Load() {
				flush()
				break
			}
			if lr.Buffered() == 0 {
				flush()
			}
			continue
		}
		if errors.Is(err, ErrLineTooLong) {
			m.dropTooLong.Inc()
			c.logDrop(reasonTooLong, "limit", c.srv.cfg.MaxLine)
			c.sendSelf(c.srv.warnTooLong)
			continue
		}
		flush()
		final = c.classifyReadError(err)
		break
	}
	c.srv.hub.remove(c)
	if c.authID != "" {
		c.srv.metrics.authenticated.Dec()
	}
	c.q.close(final)
	<-c.writerDone
	c.stallTimer.Stop()
	reason := c.endReason()
	c.srv.metrics.connections.Dec()
	c.srv.metrics.disconnects.WithLabelValues(reason).Inc()
	c.log.Info("client disconnected", "reason", reason)
}

// classifyReadError records why reading stopped and picks the goodbye line.
func (c *conn) classifyReadError(err error) *frame {
	switch {
	case c.srv.closing.Load():
		c.setReason(reasonShutdown)
		return c.srv.warnShutdown
	case c.ending.Load():
		return nil // endConn set the reason and the last line
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.authUntil.IsZero() && !time.Now().Before(c.authUntil):
		c.setReason(reasonAuthTimeout)
		c.srv.metrics.authAttempts.WithLabelValues(authResultTimeout).Inc()
		return c.srv.warnAuthTimeout
	case errors.Is(err, io.EOF):
		c.setReason(reasonEOF)
	case errors.Is(err, os.ErrDeadlineExceeded) && c.srv.cfg.IdleTimeout > 0:
		c.setReason(reasonIdle)
		return c.srv.warnIdle
	default:
		c.setReason(reasonError)
		if c.endReason() == reasonError {
			c.log.Debug("read failed", "error", err)
		}
	}
	return nil
}

// handle relays one received line: rate limit, wrap once, fan out.
func (c *conn) handle(line []byte) {
	s := c.srv
	if !c.greeted {
		c.greeted = true
		if c.greet(line) {
			return
		}
	}
	if len(line) > 0 && line[0] == '{' && isAuthLine(line) {
		if c.pending != nil {
			c.finishAuth(line)
			return
		}
		s.metrics.dropAuthLine.Inc()
		c.logDrop(reasonAuthLine, "bytes", len(line))
		return
	}
	if c.pending != nil {
		// Anything but the response ends the handshake.
		c.pending = nil
		c.refuse(authResultMalformed, true)
		return
	}
	if c.limiter != nil && !c.limiter.allow(time.Now()) {
		s.metrics.dropRateLimited.Inc()
		c.logDrop(reasonRateLimited, "limit_per_minute", s.cfg.RateLimitPerMinute)
		c.sendSelf(s.warnRate)
		return
	}
	if !s.clientSafe(line) {
		s.metrics.dropNotJSON.Inc()
		c.logDrop(reasonNotJSONObject, "bytes", len(line))
		c.sendSelf(s.warnNotJSON)
		return
	}
	var cl claim
	if s.trust != nil {
		if cl = scanClaim(line); !c.claimOK(cl) {
			return
		}
	}
	f := getFrame()
	var err error
	if f.b, err = appendWrappedPrefix(f.b, c.prefix, line); err != nil {
		f.release()
		s.metrics.dropInvalidUTF8.Inc()
		c.logDrop(reasonInvalidUTF8, "bytes", len(line))
		c.sendSelf(s.warnUTF8)
		return
	}
	if !s.fitsClients(f.b) {
		s.metrics.dropRelayedLong.Inc()
		c.logDrop(reasonRelayedTooLong, "bytes", len(f.b))
		f.release()
		c.sendSelf(s.warnRelayedLong)
		return
	}
	var toID []byte
	if s.cfg.DirectedRouting {
		var to *conn
		if s.trust != nil {
			to, toID = c.routeProven(cl)
		} else {
			to, toID = c.route(line)
		}
		if to != nil {
			if to.q.push(f) == pushFull {
				to.kill()
			}
			s.metrics.directed.Inc()
			return
		}
	}
	if s.bus != nil {
		if toID != nil && s.presence.elsewhere(toID) {
			// Proven on another replica: only that one delivers it.
			c.publishDirected(toID, f.b)
			f.release()
			return
		}
		// Before broadcast, which gives up this reader's reference to f.
		c.publishRemote(toID, f.b)
	}
	c.broadcast(f)
}

// route learns the sender's id and returns the only recipient of a directed
// line, or nil to broadcast, with the "to" id it named (if any).
func (c *conn) route(line []byte) (*conn, []byte) {
	rf := scanRoute(line)
	if rf.from != nil {
		c.srv.hub.learn(c, rf.from)
	}
	if rf.to == nil {
		return nil, nil
	}
	if to := c.srv.hub.lookup(rf.to); to != nil && to != c {
		return to, rf.to
	}
	return nil, rf.to
}

// routeProven is route for a relay with a trust bundle: only proven ids
// are bound (at authentication), so nothing is learned from lines.
func (c *conn) routeProven(cl claim) (*conn, []byte) {
	if cl.to == nil {
		return nil, nil
	}
	if to := c.srv.hub.lookup(cl.to); to != nil && to != c {
		return to, cl.to
	}
	return nil, cl.to
}

// broadcast hands f to every other client. It owns one reference to f.
func (c *conn) broadcast(f *frame) {
	s := c.srv
	peers := s.hub.conns()
	f.retain(int32(len(peers)))
	var lagging *conn
	var now int64
	for _, p := range peers {
		if p == c {
			f.release()
			continue
		}
		switch p.q.push(f) {
		case pushedLagging:
			if lagging == nil && s.cfg.StallTimeout > 0 {
				if now == 0 {
					now = s.clock.load()
				}
				if p.q.draining(now, s.cfg.StuckTimeout) {
					lagging = p
				}
			}
		case pushFull:
			p.kill()
		case pushClosed:
			s.metrics.dropRecipient.Inc()
		}
	}
	f.release()
	if lagging != nil {
		// Give a recipient that is behind but draining a moment to catch
		// up, instead of disconnecting it on the next burst. Stuck ones
		// (a write blocked for StuckTimeout) are not waited for.
		s.metrics.stalls.Inc()
		lagging.q.waitDrain(s.cfg.StallTimeout, c.stallTimer, s.done)
	}
}

// sendSelf queues a warning for this client only.
func (c *conn) sendSelf(w *frame) {
	if c.q.push(w) == pushFull {
		c.kill()
	}
}

// logDrop logs the first drop of each reason per connection at warn level
// and the rest at debug, so a misbehaving client cannot flood the log.
func (c *conn) logDrop(reason, key string, value int) {
	level := slog.LevelDebug
	if !c.warned[reason] {
		if c.warned == nil {
			c.warned = map[string]bool{}
		}
		c.warned[reason] = true
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "line dropped", "reason", reason, key, value)
}
