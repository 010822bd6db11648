package relay

import (
	"sync"
	"sync/atomic"
)

// frame is one wrapped line, shared read-only by every recipient queue it
// sits in. The last holder to release it returns it to the pool, so the hot
// path neither allocates nor copies per recipient.
type frame struct {
	b      []byte
	refs   atomic.Int32
	static bool // a constant warning line: never pooled, release is a no-op
}

// maxPooledFrame keeps rare huge frames (64 KiB of escaped non-ASCII can
// wrap to ~400 KiB) from pinning memory in the pool.
const maxPooledFrame = 128 << 10

var framePool = sync.Pool{New: func() any { return &frame{b: make([]byte, 0, 512)} }}

// getFrame returns an empty pooled frame with one reference.
func getFrame() *frame {
	f := framePool.Get().(*frame)
	f.b = f.b[:0]
	f.refs.Store(1)
	return f
}

// staticFrame wraps a constant line (a warning) that is never pooled.
func staticFrame(line string) *frame {
	return &frame{b: []byte(line), static: true}
}

// retain adds n references before the frame is handed to n queues.
func (f *frame) retain(n int32) {
	if !f.static {
		f.refs.Add(n)
	}
}

// release drops one reference; the last one recycles the frame.
func (f *frame) release() {
	if f.static || f.refs.Add(-1) != 0 {
		return
	}
	if cap(f.b) > maxPooledFrame {
		f.b = make([]byte, 0, 512)
	}
	framePool.Put(f)
}
