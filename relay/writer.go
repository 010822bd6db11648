package relay

import (
	"errors"
	"os"
	"runtime"
	"time"
)

// writeLoop drains the client's queue until it is closed, one writev per
// batch, then closes the socket (which also ends the reader).
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	defer c.nc.Close()
	var spare []*frame
	for {
		batch, final, closed := c.q.take(spare)
		if len(batch) > 0 {
			partial, err := c.writeBatch(batch, c.srv.clock.load())
			for i, f := range batch {
				f.release()
				batch[i] = nil
			}
			spare = trimFrames(batch)
			if err != nil {
				c.writeFailed(err, partial)
				return
			}
			continue
		}
		spare = batch
		if closed {
			if final != nil {
				c.writeFinal(final, false)
			}
			return
		}
		<-c.q.wake
		// Let the senders that are running now finish their fan-out before
		// taking: many lines per writev instead of a syscall per line.
		runtime.Gosched()
	}
}

// writeBatch writes all frames with one vectored write. partial reports
// that the socket got only part of a frame, so the stream is mid-line.
func (c *conn) writeBatch(batch []*frame, now int64) (partial bool, err error) {
	c.iov = c.iov[:0]
	for _, f := range batch {
		c.iov = append(c.iov, f.b)
	}
	c.armWriteDeadline(now)
	if c.q.aborted.Load() {
		_ = c.nc.SetWriteDeadline(time.Now().Add(warnGrace))
	}
	c.bufs = c.iov
	c.q.writeStart.Store(now)
	n, err := c.bufs.WriteTo(c.nc)
	c.q.writeStart.Store(0)
	clear(c.iov) // do not pin recycled frames
	if cap(c.iov) > maxRetainedBatch {
		c.iov = nil // a burst is over; do not keep its iovec array per client
	}
	m := c.srv.metrics
	m.writes.Inc()
	m.bytesOut.Add(float64(n))
	if err == nil {
		m.linesOut.Add(float64(len(batch)))
		return false, nil
	}
	// Walk frame boundaries to see whether n ends inside a frame.
	for _, f := range batch {
		if n <= 0 {
			break
		}
		if n < int64(len(f.b)) {
			return true, err
		}
		n -= int64(len(f.b))
	}
	return false, err
}

// armWriteDeadline keeps a write deadline at least WriteTimeout/2 ahead of
// now. Re-arming a socket timer per batch showed up in profiles, so it is
// renewed only when half used: every write still gets between
// WriteTimeout/2 and WriteTimeout.
func (c *conn) armWriteDeadline(now int64) {
	wt := int64(c.srv.cfg.WriteTimeout)
	if now+wt/2 < c.deadlineAt {
		return
	}
	c.deadlineAt = now + wt
	_ = c.nc.SetWriteDeadline(time.Unix(0, c.deadlineAt))
}

// writeFailed ends a connection whose write failed or timed out. A timeout
// means the client stopped reading: that is a slow client.
func (c *conn) writeFailed(err error, partial bool) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.setReason(reasonSlow)
		if c.q.abort(c.srv.warnSlow) {
			c.log.Warn("client too slow, disconnecting", "error", err)
		}
	} else {
		c.setReason(reasonError)
		c.q.abort(nil)
		c.log.Debug("write failed", "error", err)
		return
	}
	_, final, _ := c.q.take(nil)
	if final != nil {
		c.writeFinal(final, partial)
	}
}

// writeFinal makes a short, best-effort attempt to deliver a goodbye line,
// starting it on a fresh line when the stream was cut mid-frame.
func (c *conn) writeFinal(f *frame, midLine bool) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(warnGrace))
	if midLine {
		_, _ = c.nc.Write([]byte{'\n'})
	}
	if _, err := c.nc.Write(f.b); err == nil {
		c.srv.metrics.linesOut.Inc()
		c.srv.metrics.bytesOut.Add(float64(len(f.b)))
	}
}

// maxRetainedBatch caps the batch slices a writer keeps between bursts, so
// an idle client does not hold memory sized for its worst moment.
const maxRetainedBatch = 4096

func trimFrames(b []*frame) []*frame {
	if cap(b) > maxRetainedBatch {
		return nil
	}
	return b
}
