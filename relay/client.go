package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Client errors callers branch on.
var (
	ErrQueueFull = errors.New("relay client: send queue full")
	ErrClosed    = errors.New("relay client: closed")
	ErrBadLine   = errors.New("relay client: line must end in \\n and contain no other newline")
)

// Client defaults; zero ClientConfig fields take these.
const (
	// DefaultClientMaxLine fits the largest wrapper a relay with the default
	// 64 KiB input limit can produce (escaping grows text up to 6x).
	DefaultClientMaxLine      = 512 << 10
	DefaultSendQueue          = 1024
	DefaultRecvQueue          = 1024
	DefaultMinBackoff         = 200 * time.Millisecond
	DefaultMaxBackoff         = 15 * time.Second
	DefaultDialTimeout        = 5 * time.Second
	DefaultClientWriteTimeout = 30 * time.Second
)

// ClientConfig configures a reconnecting relay client.
type ClientConfig struct {
	Addr string
	// MaxLine limits one received line; longer lines are dropped and logged.
	MaxLine int
	// SendQueue bounds lines waiting to be written, across reconnects.
	SendQueue int
	// MinBackoff and MaxBackoff bound the jittered exponential reconnect delay.
	MinBackoff, MaxBackoff time.Duration
	// OnConnect runs after every successful (re)connect, on Run's goroutine,
	// before any line is read; the agent re-announces itself here. It must
	// not block for long; it may call Send.
	OnConnect func()
	// OnDisconnect runs after every connection OnConnect announced has
	// ended, on Run's goroutine, before the reconnect backoff; err says why
	// (nil when Run's context ended it). Readiness drops here. It must not
	// block for long.
	OnDisconnect func(err error)
	Logger       *slog.Logger
	// RecvQueue bounds received lines not yet taken from Lines; when full
	// the client stops reading (TCP backpressure to the relay).
	RecvQueue int
	// DialTimeout bounds one connection attempt.
	DialTimeout time.Duration
	// WriteTimeout bounds one flush to the relay; a relay that stops
	// reading for longer is treated as gone and redialled.
	WriteTimeout time.Duration
	// Auth, when set, proves the agent ID on every connection before any
	// queued line is written or OnConnect runs (clientauth.go).
	Auth *ClientAuth
	// OnAuth, if set, runs after each handshake with its outcome, on
	// Run's goroutine, before OnConnect. It must not block for long.
	OnAuth func(AuthOutcome)
}

// ClientStats are cumulative counters, for the embedding process's metrics.
type ClientStats struct {
	Connects, LinesSent, LinesReceived, LinesTooLong uint64
	// AuthOK and AuthFailed count handshakes that proved the agent ID and
	// those that did not (refused, unavailable or unanswered).
	AuthOK, AuthFailed uint64
}

// Client keeps one connection to a relay alive: it dials with backoff,
// writes queued lines in batches and hands received lines to Lines.
// Delivery is at most once: a line being written when the connection
// breaks is lost, as with the reference client.
type Client struct {
	cfg     ClientConfig
	log     *slog.Logger
	send    chan []byte
	lines   chan []byte
	running atomic.Bool
	closed  atomic.Bool
	closeMu sync.RWMutex // Send holds it shared; Run's exit holds it to flip closed

	connects, sent, received, tooLong atomic.Uint64
	authOK, authFailed                atomic.Uint64
}

// NewClient returns a client; nothing happens until Run.
func NewClient(cfg ClientConfig) *Client {
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultClientMaxLine
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.RecvQueue <= 0 {
		cfg.RecvQueue = DefaultRecvQueue
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultClientWriteTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{
		cfg:   cfg,
		log:   log.With("relay", cfg.Addr),
		send:  make(chan []byte, cfg.SendQueue),
		lines: make(chan []byte, cfg.RecvQueue),
	}
}

// Send queues one line, which must end in "\n" and contain no other
// newline. It copies line, never blocks, and returns ErrQueueFull when the
// queue is full and ErrClosed once Run has returned.
func (c *Client) Send(line []byte) error {
	if len(line) == 0 || line[len(line)-1] != '\n' || bytes.IndexByte(line[:len(line)-1], '\n') >= 0 {
		return ErrBadLine
	}
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed.Load() {
		return ErrClosed
	}
	select {
	case c.send <- append([]byte(nil), line...):
		return nil
	default:
		return ErrQueueFull
	}
}

// Lines delivers received lines without their "\n"; each slice belongs to
// the receiver. It is closed when Run returns.
func (c *Client) Lines() <-chan []byte { return c.lines }

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{Connects: c.connects.Load(), LinesSent: c.sent.Load(),
		LinesReceived: c.received.Load(), LinesTooLong: c.tooLong.Load(),
		AuthOK: c.authOK.Load(), AuthFailed: c.authFailed.Load()}
}

// Run connects and reconnects until ctx is done, then returns nil. It may
// be called once.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("relay client: Run called twice")
	}
	if c.cfg.Auth != nil {
		if err := c.cfg.Auth.check(); err != nil {
			return err
		}
	}
	defer func() {
		c.closeMu.Lock()
		c.closed.Store(true)
		c.closeMu.Unlock()
		close(c.lines)
	}()
	dialer := net.Dialer{Timeout: c.cfg.DialTimeout}
	attempt := 0
	for {
		nc, err := dialer.DialContext(ctx, "tcp", c.cfg.Addr)
		if err == nil {
			c.connects.Add(1)
			start := time.Now()
			var announced bool
			announced, err = c.session(ctx, nc)
			if announced && c.cfg.OnDisconnect != nil {
				c.cfg.OnDisconnect(err)
			}
			if time.Since(start) >= c.cfg.MaxBackoff {
				attempt = 0 // a long healthy session: start over
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)
		attempt++
		c.log.Warn("relay connection lost, reconnecting", "error", err, "attempt", attempt, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection until it breaks or ctx ends. announced
// reports whether it got as far as OnConnect (past authentication).
func (c *Client) session(ctx context.Context, nc net.Conn) (announced bool, _ error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.log.Info("connected to relay", "local_addr", nc.LocalAddr().String())
	lr := NewLineReader(nc, c.cfg.MaxLine)
	var early [][]byte
	if c.cfg.Auth != nil {
		var err error
		if early, err = c.authenticate(nc, lr); err != nil {
			nc.Close()
			return false, err
		}
	}
	var wg sync.WaitGroup
	writeErr := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-sctx.Done()
		nc.Close() // unblocks the reader and the writer
	}()
	go func() {
		defer wg.Done()
		err := c.writeLoop(sctx, nc)
		writeErr <- err
		cancel()
	}()
	if c.cfg.OnConnect != nil {
		c.cfg.OnConnect()
	}
	err := c.readLoop(sctx, lr, early)
	cancel()
	wg.Wait()
	if werr := <-writeErr; werr != nil && err == nil {
		err = werr
	}
	return true, err
}

// writeLoop writes queued lines, flushing once the queue is momentarily
// empty, so a burst costs one syscall.
func (c *Client) writeLoop(ctx context.Context, nc net.Conn) error {
	bw := bufio.NewWriterSize(nc, 32<<10)
	for {
		var line []byte
		select {
		case <-ctx.Done():
			return nil
		case line = <-c.send:
		}
		// Covers the flushes bufio does on its own when a burst fills it.
		_ = nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
		for {
			if _, err := bw.Write(line); err != nil {
				return fmt.Errorf("write to relay: %w", err)
			}
			c.sent.Add(1)
			select {
			case line = <-c.send:
				continue
			default:
			}
			break
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write to relay: %w", err)
		}
	}
}

// readLoop hands every received line to Lines until the connection ends.
func (c *Client) readLoop(ctx context.Context, lr *LineReader, early [][]byte) error {
	for _, line := range early {
		c.received.Add(1)
		select {
		case c.lines <- line:
		case <-ctx.Done():
			return nil
		}
	}
	for {
		line, err := lr.ReadLine()
		if errors.Is(err, ErrLineTooLong) {
			c.tooLong.Add(1)
			c.log.Warn("relayed line dropped", "reason", reasonTooLong, "limit", c.cfg.MaxLine)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return errors.New("relay closed the connection")
			}
			return fmt.Errorf("read from relay: %w", err)
		}
		c.received.Add(1)
		select {
		case c.lines <- append([]byte(nil), line...):
		case <-ctx.Done():
			return nil
		}
	}
}
