package relay

import (
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong reports a line longer than the reader's limit. The reader
// has discarded (or will silently discard) the line through its newline and
// stays usable.
var ErrLineTooLong = errors.New("line too long")

// maxEmptyReads bounds consecutive (0, nil) reads before giving up, as
// bufio does, so a misbehaving io.Reader cannot spin us forever.
const maxEmptyReads = 100

// LineReader reads '\n'-terminated lines with a hard length limit and
// without allocating per line. Unlike bufio.Scanner it survives an
// oversized line: that line is reported once with ErrLineTooLong and
// skipped. The buffer starts small and grows only up to limit+1 bytes.
type LineReader struct {
	rd       io.Reader
	buf      []byte
	r, w     int // buf[r:w] holds unread bytes
	limit    int
	skipping bool  // inside an oversized line, dropping bytes up to '\n'
	err      error // sticky: io.EOF or io.ErrNoProgress
}

const initialLineBuf = 4 << 10

// NewLineReader reads lines of at most limit bytes (excluding "\n") from rd.
func NewLineReader(rd io.Reader, limit int) *LineReader {
	if limit <= 0 {
		limit = DefaultMaxLine
	}
	return &LineReader{rd: rd, buf: make([]byte, min(initialLineBuf, limit+1)), limit: limit}
}

// ReadLine returns the next line without its trailing "\n" ("\r" is kept).
// The slice aliases the reader's buffer and is valid until the next call.
// A final line that ends at EOF without "\n" is returned with a nil error;
// then io.EOF follows. Errors from the underlying reader other than io.EOF
// (such as a deadline) are returned as they are and are not sticky.
func (lr *LineReader) ReadLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.r:lr.w], '\n'); i >= 0 {
			line := lr.buf[lr.r : lr.r+i]
			lr.r += i + 1
			if lr.skipping {
				lr.skipping = false
				continue
			}
			if len(line) > lr.limit {
				return nil, ErrLineTooLong
			}
			return line, nil
		}
		if lr.skipping {
			lr.r, lr.w = 0, 0
		} else if lr.w-lr.r > lr.limit {
			// Over the limit with no newline yet: report now, drop the rest
			// as it arrives, and keep memory bounded.
			lr.r, lr.w = 0, 0
			lr.skipping = true
			return nil, ErrLineTooLong
		}
		if lr.err != nil {
			return lr.finalLine()
		}
		if err := lr.fill(); err != nil {
			if err == io.EOF || err == io.ErrNoProgress {
				lr.err = err
				continue
			}
			return nil, err
		}
	}
}

// finalLine hands out an unterminated last line once, then the sticky error.
func (lr *LineReader) finalLine() ([]byte, error) {
	if lr.skipping || lr.r == lr.w {
		lr.skipping = false
		lr.r, lr.w = 0, 0
		return nil, lr.err
	}
	line := lr.buf[lr.r:lr.w]
	lr.r = lr.w
	return line, nil
}

// fill reads more bytes, compacting or growing the buffer first.
func (lr *LineReader) fill() error {
	if lr.r > 0 {
		lr.w = copy(lr.buf, lr.buf[lr.r:lr.w])
		lr.r = 0
	}
	if lr.w == len(lr.buf) {
		// The buffer holds a partial line of at most limit bytes (checked by
		// the caller), so limit+1 always leaves room to find its end.
		grown := make([]byte, min(2*len(lr.buf), lr.limit+1))
		copy(grown, lr.buf[:lr.w])
		lr.buf = grown
	}
	for range maxEmptyReads {
		n, err := lr.rd.Read(lr.buf[lr.w:])
		if n < 0 || n > len(lr.buf)-lr.w {
			return errors.New("line reader: invalid read count")
		}
		lr.w += n
		if err != nil {
			if n > 0 && err == io.EOF {
				return nil // deliver these bytes first; EOF comes back next read
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// Buffered reports how many unread bytes are already in memory, so a caller
// can batch per-read work (metrics) instead of per-line work.
func (lr *LineReader) Buffered() int { return lr.w - lr.r }
